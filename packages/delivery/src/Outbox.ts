/**
 * The outbox: where adapters hand messages to delivery. `enqueue` validates a message with core,
 * stores it durably under its idempotency key (the same key never makes a second message), with
 * its place in admission (its delivery workflow starts when its portal has room); the rest reads and
 * steers what is there: list, read, replay, purge.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { BitrixError, NetworkMessage } from "@linecast/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { Admission, admissionRowOf } from "./Admission.js"
import { EntryNotFoundError, NotReplayableError, OutboxStorageError } from "./DeliveryError.js"
import * as DeliveryMetrics from "./DeliveryMetrics.js"
import { EntryChanges } from "./EntryChanges.js"
import * as dispatcher from "./internal/dispatcher.js"
import * as Journal from "./internal/journal.js"
import { transaction } from "./internal/tables.js"
import type { DeliveryPolicy, HistoryRecord, OutboxEntry, Recipient } from "./OutboxEntry.js"
import { recipientOf } from "./OutboxEntry.js"
import type { OutboxConflictError, OutboxQuery } from "./OutboxStore.js"
import { OutboxStore } from "./OutboxStore.js"
import { WeeklyLedger } from "./WeeklyLedger.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface EnqueueOptions {
  /** The same key returns the existing entry and never makes a second message. */
  readonly idempotencyKey: string
  /** The portal's id in `PortalChannels` (`default` for a single portal). */
  readonly portal?: string | undefined
  /** What to do if the recipient was already written to this week. Default `defer`. */
  readonly policy?: DeliveryPolicy | undefined
  /** Not before this instant (Unix ms). */
  readonly notBefore?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type EnqueueError = BitrixError.ValidationError | BitrixError.UserMessageLimitError | OutboxStorageError

/**
 * One message for `enqueueMany`.
 *
 * @since 0.1.0
 * @category models
 */
export interface EnqueueItem {
  readonly message: NetworkMessage.NetworkMessage
  readonly options: EnqueueOptions
}

/**
 * What each item of `enqueueMany` became: its entry (`created` false when its key already held one), or
 * why it was refused.
 *
 * @since 0.1.0
 * @category models
 */
export type EnqueueResult = Either.Either<Accepted, Refused>

type Accepted = { readonly entry: OutboxEntry; readonly created: boolean }
type Refused = BitrixError.ValidationError | BitrixError.UserMessageLimitError

/**
 * @since 0.1.0
 * @category models
 */
export interface EnqueueManyOptions<R> {
  /**
   * The caller's own writes, in the entries' transaction, given what each item became: stored with them
   * or not at all, in one commit (an adapter's record of whom to tell how a message ended, say). It runs
   * on the `SqlClient` delivery runs on; a database failure in it fails the whole call.
   */
  readonly alongside?: (results: ReadonlyArray<EnqueueResult>) => Effect.Effect<void, SqlError, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Outbox extends Context.Tag("@linecast/delivery/Outbox")<Outbox, Outbox.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace Outbox {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Accepts a message durably; `created` is false when the key already held an entry. */
    readonly enqueue: (
      message: NetworkMessage.NetworkMessage,
      options: EnqueueOptions
    ) => Effect.Effect<{ readonly entry: OutboxEntry; readonly created: boolean }, EnqueueError>
    /**
     * `enqueue` for many messages in one transaction (a few statements, one commit): answers, in
     * order, each message's entry or why it was refused (`enqueue`'s rules, item by item; a refused
     * item does not keep the others out). Items that share an idempotency key resolve to the same
     * entry. Fails as a whole, with nothing stored, when the database does. `alongside` writes the
     * caller's own rows in the same transaction.
     */
    readonly enqueueMany: <R = never>(
      items: ReadonlyArray<EnqueueItem>,
      options?: EnqueueManyOptions<R>
    ) => Effect.Effect<ReadonlyArray<EnqueueResult>, OutboxStorageError, R>
    readonly get: (id: string) => Effect.Effect<OutboxEntry, EntryNotFoundError | OutboxStorageError>
    readonly list: (query?: OutboxQuery) => Effect.Effect<ReadonlyArray<OutboxEntry>, OutboxStorageError>
    readonly count: (query?: OutboxQuery) => Effect.Effect<number, OutboxStorageError>
    /** Sends a dead or ambiguous entry again. */
    readonly replay: (
      id: string
    ) => Effect.Effect<OutboxEntry, EntryNotFoundError | NotReplayableError | OutboxStorageError | OutboxConflictError>
    /** Removes entries; answers how many. */
    readonly purge: (query: OutboxQuery) => Effect.Effect<number, OutboxStorageError>
    /** When the recipient may next be written to (undefined: now). */
    readonly nextAllowedAt: (recipient: Recipient) => Effect.Effect<number | undefined, OutboxStorageError>
    /** `nextAllowedAt` for each recipient, in order, in one read of the ledger. */
    readonly nextAllowedAtMany: (
      recipients: ReadonlyArray<Recipient>
    ) => Effect.Effect<ReadonlyArray<number | undefined>, OutboxStorageError>
    /** When the ledger last recorded an accepted send to the recipient (undefined: never). */
    readonly lastSentAt: (recipient: Recipient) => Effect.Effect<number | undefined, OutboxStorageError>
    /** What the entry went through, one record per save, oldest first. */
    readonly history: (
      id: string
    ) => Effect.Effect<ReadonlyArray<HistoryRecord>, EntryNotFoundError | OutboxStorageError>
    /**
     * The ids of entries saved or purged from now on by this process's delivery (its worker thread's
     * too, with `DeliveryWorker`), for the life of the scope: a hint to look at them (see `EntryChanges`).
     */
    readonly changes: Effect.Effect<Queue.Dequeue<string>, never, Scope.Scope>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OutboxOptions {
  /** How often the dispatcher looks for work other runners made ready, and the stall sweep runs. */
  readonly sweepIntervalMs: number
  /** Admitted entries started at once (first steps forked, or workflows handed to the engine). */
  readonly startConcurrency: number
  /**
   * Admitted work (`queued` or `sending`) that has not moved for this long has its workflow started and
   * resumed again (harmless when it runs): the engine can lose track of an execution when its runner or
   * database connection dies at the wrong moment.
   */
  readonly stallMs: number
  /** Entries of one portal in progress at once (first steps and workflows); the rest of its queue waits as rows (see `Admission`). */
  readonly admittedPerPortal: number
  /** Entries in progress at once across all portals. */
  readonly admittedTotal: number
  /** At a stop, how long entries' first steps still running are waited for before they are cut off. */
  readonly stopTimeoutMs: number
  /**
   * How long the dispatcher waits, once woken (an entry added, a place freed), before it admits: what a burst frees
   * and adds is admitted in one round, and its messages share the portal's calls.
   */
  readonly gatherMs: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultOptions: OutboxOptions = {
  sweepIntervalMs: 1_000,
  startConcurrency: 64,
  stallMs: 30_000,
  // Two full `batch` calls: a running workflow costs the engine about 200 KB while it waits, and the
  // memory a process once took is not all given back. More keeps the portal's next calls fuller (see
  // packages/bench/results.md, d2) at that price.
  admittedPerPortal: 100,
  admittedTotal: 2_000,
  stopTimeoutMs: 15_000,
  gatherMs: 5
}

let sequence = 0
const newId = (now: number) =>
  `${now.toString(36)}-${(sequence++ % 1_679_616).toString(36).padStart(4, "0")}-${Math.random().toString(36).slice(2, 8)}`

/**
 * The outbox over its storage; `lend` gives this process's dispatcher a hand after an enqueue (nothing
 * when no dispatcher runs here). With `journal`, new entries go to the intake journal (see
 * `internal/journal.ts`) for the runner to move into the outbox, and reads move what waits first.
 */
const makeWith = (lend: Effect.Effect<void>, journal = false) =>
  Effect.gen(function* () {
    const store = yield* OutboxStore
    const ledger = yield* WeeklyLedger
    const sql = yield* SqlClient.SqlClient
    const admission = yield* Admission
    const changes = yield* EntryChanges
    /** Stores entries and their waiting starts together: whatever happens next, a start is not lost. */
    const withStarts = <A, E, R>(write: Effect.Effect<A, E, R>, started: (written: A) => ReadonlyArray<OutboxEntry>) =>
      transaction(
        sql,
        "store",
        Effect.tap(write, (written) => admission.add(started(written).map(admissionRowOf)))
      ).pipe(Effect.zipLeft(admission.wake))

    /** Moves what waits in the journal, and tells the runner when there was something. */
    const moveJournal = Effect.flatMap(Journal.move, (moved) => (moved > 0 ? admission.wake : Effect.void)).pipe(
      Effect.provideService(SqlClient.SqlClient, sql)
    )

    /**
     * A read that sees every entry stored: with the journal, when the answer is not `complete` and anything waits
     * there, it is moved and the read runs again (a read whose answer is complete costs nothing more).
     */
    const settled = <A>(read: Effect.Effect<A, OutboxStorageError>, complete: (answer: A) => boolean = () => false) =>
      journal
        ? Effect.flatMap(read, (answer) =>
            complete(answer)
              ? Effect.succeed(answer)
              : Effect.flatMap(Journal.isEmpty, (empty) =>
                  empty ? Effect.succeed(answer) : Effect.zipRight(moveJournal, read)
                )
          ).pipe(Effect.provideService(SqlClient.SqlClient, sql))
        : read

    /** Whether a query by ids found every entry it names (duplicates named once). */
    const foundAll = (query: OutboxQuery, found: number) => query.ids !== undefined && found >= new Set(query.ids).size

    /**
     * New entries into the journal, with the caller's rows, in one transaction: a key the outbox or the journal
     * already holds, or an earlier item of the call, resolves to that entry, as `insertMany` would resolve it.
     */
    const journaled = <R>(
      entries: ReadonlyArray<OutboxEntry>,
      alongside: ((results: ReadonlyArray<EnqueueResult>) => Effect.Effect<void, SqlError, R>) | undefined,
      resultsOf: (stored: ReadonlyArray<Accepted>) => ReadonlyArray<EnqueueResult>
    ) =>
      transaction(
        sql,
        "store",
        Effect.gen(function* () {
          const keys = new Set(entries.map((entry) => entry.idempotencyKey))
          const held = yield* store.byKeys([...keys])
          const unheld = new Set([...keys].filter((key) => !held.has(key)))
          const { found: waiting, rows } =
            unheld.size === 0 ? { found: new Map<string, OutboxEntry>(), rows: 0 } : yield* Journal.waiting(unheld)
          const first = new Map<string, OutboxEntry>()
          const stored: Array<Accepted> = []
          for (const entry of entries) {
            const key = entry.idempotencyKey
            const holder = held.get(key) ?? waiting.get(key) ?? first.get(key)
            if (holder !== undefined) {
              stored.push({ entry: holder, created: false })
              continue
            }
            first.set(key, entry)
            stored.push({ entry, created: true })
          }
          if (first.size > 0) yield* Journal.append([...first.values()])
          const results = resultsOf(stored)
          if (alongside !== undefined) yield* alongside(results)
          return { stored, results, behind: rows >= Journal.backlogRows }
        }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
      ).pipe(
        Effect.tap(({ behind }) =>
          // The runner is stopped or far behind: this side moves the backlog rather than read it at every batch.
          behind ? moveJournal : admission.wake
        )
      )

    /** A new entry for an item; `reject` policy aside, an item's whole check is plain code (see `blocked`). */
    const entryOf = ({ message, options }: EnqueueItem, now: number): OutboxEntry => ({
      id: newId(now),
      idempotencyKey: options.idempotencyKey,
      portal: options.portal ?? "default",
      message,
      policy: options.policy ?? "defer",
      state: "queued",
      ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
      attempts: 0,
      generation: 0,
      createdAt: now,
      updatedAt: now,
      version: 0
    })

    /** A `reject` policy's item whose key is new and whose recipient the ledger knows is written to: why not. */
    const blocked = (entry: OutboxEntry, now: number): Effect.Effect<Refused | undefined, OutboxStorageError> =>
      Effect.gen(function* () {
        const existing = yield* store.list({ idempotencyKey: entry.idempotencyKey, limit: 1 })
        const blockedUntil = yield* ledger.nextAllowedAt(recipientOf(entry), now)
        if (existing.length > 0 || blockedUntil === undefined) return undefined
        return new BitrixError.UserMessageLimitError({
          description: "The recipient was already written to in this window",
          source: "local",
          nextAllowedAt: blockedUntil
        })
      })

    // One code path for one message and for many: a batch of one costs what `enqueue` always did.
    const enqueueMany = <R = never>(
      items: ReadonlyArray<EnqueueItem>,
      options: EnqueueManyOptions<R> = {}
    ): Effect.Effect<ReadonlyArray<EnqueueResult>, OutboxStorageError, R> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const prepared: Array<Either.Either<OutboxEntry, Refused>> = []
        // Keys of earlier items of this call: a reject-policy item finds their entry, as it would one by one.
        const keys = new Set<string>()
        for (const item of items) {
          // Validated as plain code: a batch runs no effect per item unless a `reject` policy asks the ledger.
          const valid = NetworkMessage.validateEither(item.message)
          if (Either.isLeft(valid)) {
            prepared.push(Either.left(valid.left))
            continue
          }
          const entry = entryOf(item, now)
          const refused =
            entry.policy === "reject" && !keys.has(entry.idempotencyKey) ? yield* blocked(entry, now) : undefined
          if (refused !== undefined) {
            prepared.push(Either.left(refused))
            continue
          }
          keys.add(entry.idempotencyKey)
          prepared.push(Either.right(entry))
        }
        const entries = prepared.flatMap((entry) => (Either.isRight(entry) ? [entry.right] : []))
        const resultsOf = (stored: ReadonlyArray<Accepted>) => {
          let next = 0
          return prepared.map(
            (entry): EnqueueResult => (Either.isRight(entry) ? Either.right(stored[next++]!) : Either.left(entry.left))
          )
        }
        const alongside = options.alongside
        if (entries.length === 0) {
          const results = resultsOf([])
          if (alongside !== undefined) yield* transaction(sql, "store", alongside(results))
          return results
        }
        const {
          results,
          stored
        }: { readonly stored: ReadonlyArray<Accepted>; readonly results: ReadonlyArray<EnqueueResult> } = yield* journal
          ? journaled(entries, alongside, resultsOf)
          : withStarts(
              Effect.flatMap(store.insertMany(entries), (stored) => {
                const results = resultsOf(stored)
                return Effect.as(alongside === undefined ? Effect.void : alongside(results), { stored, results })
              }),
              (written) => written.stored.flatMap((one) => (one.created ? [one.entry] : []))
            )
        const created = stored.reduce((total, one) => total + (one.created ? 1 : 0), 0)
        if (created > 0) yield* Metric.incrementBy(DeliveryMetrics.enqueued, created)
        yield* lend
        return results
      })

    const get = (id: string) =>
      settled(store.get(id), Option.isSome).pipe(
        Effect.flatMap(
          Option.match({ onNone: () => Effect.fail(new EntryNotFoundError({ id })), onSome: Effect.succeed })
        )
      )

    return Outbox.of({
      enqueue: (message, options) =>
        Effect.flatMap(enqueueMany([{ message, options }]), (results): Effect.Effect<Accepted, EnqueueError> => {
          const result = results[0]
          if (result === undefined) {
            return Effect.fail(new OutboxStorageError({ operation: "store", message: "the entry was not stored" }))
          }
          return Either.isRight(result) ? Effect.succeed(result.right) : Effect.fail(result.left)
        }),
      enqueueMany,
      get,
      // A query by ids is complete when it found them all (the relay's reports ask so at every look).
      list: (query = {}) => settled(store.list(query), (found) => foundAll(query, found.length)),
      count: (query = {}) => settled(store.count(query), (total) => foundAll(query, total)),
      replay: (id) =>
        Effect.gen(function* () {
          const entry = yield* get(id)
          if (!NotReplayableError.replayable.includes(entry.state)) {
            return yield* new NotReplayableError({ id, state: entry.state })
          }
          const now = yield* Clock.currentTimeMillis
          const replayed: OutboxEntry = {
            ...entry,
            state: entry.state === "ambiguous" ? "ambiguous" : "queued",
            generation: entry.generation + 1,
            attempts: 0,
            updatedAt: now
          }
          return yield* withStarts(store.save(replayed), (written) => [written])
        }),
      purge: (query) =>
        Effect.gen(function* () {
          const entries = yield* settled(store.list({ ...query, limit: 100_000 }))
          for (const entry of entries) yield* ledger.release(recipientOf(entry), entry.id)
          yield* admission.forget(entries.map((entry) => entry.id))
          const purged = yield* store.purge(query)
          yield* changes.publish(entries.map((entry) => entry.id))
          return purged
        }),
      nextAllowedAt: (recipient) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => ledger.nextAllowedAt(recipient, now)),
      nextAllowedAtMany: (recipients) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => ledger.nextAllowedAtMany(recipients, now)),
      lastSentAt: (recipient) => ledger.lastSent(recipient),
      history: (id) => Effect.zipRight(get(id), store.history(id)),
      changes: changes.subscribe
    })
  })

/**
 * The outbox with this process's dispatcher: it admits waiting entries as their portals have room
 * and starts their workflows (see `Admission`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: OutboxOptions = defaultOptions) =>
  Effect.gen(function* () {
    // `enqueue` answers once the entry is stored; its workflow starts when its portal has room.
    const dispatch = yield* dispatcher.run({
      limits: { perPortal: options.admittedPerPortal, total: options.admittedTotal },
      startConcurrency: options.startConcurrency,
      sweepIntervalMs: options.sweepIntervalMs,
      stallMs: options.stallMs,
      stopTimeoutMs: options.stopTimeoutMs,
      gatherMs: options.gatherMs
    })
    return yield* makeWith(dispatch.lend)
  })

/**
 * The outbox without a dispatcher or an engine: it stores entries and their places in admission,
 * and reads and steers them, but starts nothing. A runner elsewhere on the same database (a full
 * `Delivery.layer`) admits and sends them, within its `sweepIntervalMs` (it is not woken from here).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeIngest = makeWith(Effect.void)

/**
 * `makeIngest` whose new entries go to the intake journal: each `enqueueMany` stores one row (a page or
 * a few, where each entry stored directly dirtied about three), and the runner moves them into the outbox
 * at its next round. For an owner that answers people while its runner is another thread or process on
 * the same SQLite file (`DeliveryWorker`): the owner's commits get far cheaper, the runner does the rest.
 * Reads here move what waits first when it could change their answer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeJournaled = makeWith(Effect.void, true)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.scoped(Outbox, make())

/**
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Partial<OutboxOptions>) =>
  Layer.scoped(Outbox, make({ ...defaultOptions, ...options }))

/**
 * An outbox that only takes work in (see `makeIngest`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerIngest = Layer.effect(Outbox, makeIngest)

/**
 * An outbox that only takes work in, through the intake journal (see `makeJournaled`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerJournaled = Layer.effect(Outbox, makeJournaled)
