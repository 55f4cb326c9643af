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
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { Admission } from "./Admission.js"
import { EntryNotFoundError, NotReplayableError } from "./DeliveryError.js"
import * as DeliveryMetrics from "./DeliveryMetrics.js"
import * as dispatcher from "./internal/dispatcher.js"
import { storageError } from "./internal/tables.js"
import type { DeliveryPolicy, HistoryRecord, OutboxEntry, Recipient } from "./OutboxEntry.js"
import { recipientOf } from "./OutboxEntry.js"
import type { OutboxConflictError, OutboxQuery, OutboxStorageError } from "./OutboxStore.js"
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
    /** When the ledger last recorded an accepted send to the recipient (undefined: never). */
    readonly lastSentAt: (recipient: Recipient) => Effect.Effect<number | undefined, OutboxStorageError>
    /** What the entry went through, one record per save, oldest first. */
    readonly history: (
      id: string
    ) => Effect.Effect<ReadonlyArray<HistoryRecord>, EntryNotFoundError | OutboxStorageError>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OutboxOptions {
  /** How often the dispatcher looks for work other runners made ready, and the stall sweep runs. */
  readonly sweepIntervalMs: number
  /** Workflows handed to the engine at once. */
  readonly startConcurrency: number
  /**
   * Admitted work (`queued` or `sending`) that has not moved for this long has its workflow started and
   * resumed again (harmless when it runs): the engine can lose track of an execution when its runner or
   * database connection dies at the wrong moment.
   */
  readonly stallMs: number
  /** Workflows of one portal running at once; the rest of its queue waits as rows (see `Admission`). */
  readonly admittedPerPortal: number
  /** Workflows running at once across all portals. */
  readonly admittedTotal: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultOptions: OutboxOptions = {
  sweepIntervalMs: 1_000,
  startConcurrency: 64,
  stallMs: 120_000,
  // Two full `batch` calls' worth in flight per portal: enough to keep its budget busy.
  admittedPerPortal: 100,
  admittedTotal: 2_000
}

let sequence = 0
const newId = (now: number) =>
  `${now.toString(36)}-${(sequence++ % 1_679_616).toString(36).padStart(4, "0")}-${Math.random().toString(36).slice(2, 8)}`

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: OutboxOptions = defaultOptions) =>
  Effect.gen(function* () {
    const store = yield* OutboxStore
    const ledger = yield* WeeklyLedger
    const sql = yield* SqlClient.SqlClient
    const admission = yield* Admission
    /** Stores an entry and its waiting start together: whatever happens next, the start is not lost. */
    const withStart = <A, E>(write: Effect.Effect<A, E>, entry: (written: A) => OutboxEntry | undefined) =>
      sql
        .withTransaction(
          Effect.tap(write, (written) => {
            const started = entry(written)
            return started === undefined
              ? Effect.void
              : admission.add({
                  entryId: started.id,
                  generation: started.generation,
                  portal: started.portal,
                  readyAt: Math.max(started.updatedAt, started.notBefore ?? 0)
                })
          })
        )
        .pipe(
          Effect.catchIf(
            (error): error is SqlError => (error as { readonly _tag?: unknown })._tag === "SqlError",
            (error) => Effect.fail(storageError("store")(error))
          ),
          Effect.zipLeft(admission.wake)
        )
    // `enqueue` answers once the entry is stored; its workflow starts when its portal has room.
    const dispatch = yield* dispatcher.run({
      limits: { perPortal: options.admittedPerPortal, total: options.admittedTotal },
      startConcurrency: options.startConcurrency,
      sweepIntervalMs: options.sweepIntervalMs,
      stallMs: options.stallMs
    })

    const get = (id: string) =>
      store
        .get(id)
        .pipe(
          Effect.flatMap(
            Option.match({ onNone: () => Effect.fail(new EntryNotFoundError({ id })), onSome: Effect.succeed })
          )
        )

    return Outbox.of({
      enqueue: (message, options) =>
        Effect.gen(function* () {
          yield* NetworkMessage.validate(message)
          const now = yield* Clock.currentTimeMillis
          const portal = options.portal ?? "default"
          const policy = options.policy ?? "defer"
          const recipient: Recipient = { portal, lineCode: message.lineCode, userId: message.userId }
          if (policy === "reject") {
            const existing = yield* store.list({ idempotencyKey: options.idempotencyKey, limit: 1 })
            const blockedUntil = yield* ledger.nextAllowedAt(recipient, now)
            if (existing.length === 0 && blockedUntil !== undefined) {
              return yield* new BitrixError.UserMessageLimitError({
                description: "The recipient was already written to in this window",
                source: "local",
                nextAllowedAt: blockedUntil
              })
            }
          }
          const entry: OutboxEntry = {
            id: newId(now),
            idempotencyKey: options.idempotencyKey,
            portal,
            message,
            policy,
            state: "queued",
            ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
            attempts: 0,
            generation: 0,
            createdAt: now,
            updatedAt: now,
            version: 0
          }
          const stored = yield* withStart(store.insert(entry), (written) =>
            written.created ? written.entry : undefined
          )
          if (stored.created) yield* Metric.increment(DeliveryMetrics.enqueued)
          yield* dispatch.lend
          return stored
        }),
      get,
      list: (query = {}) => store.list(query),
      count: (query = {}) => store.count(query),
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
          return yield* withStart(store.save(replayed), (written) => written)
        }),
      purge: (query) =>
        Effect.gen(function* () {
          const entries = yield* store.list({ ...query, limit: 100_000 })
          for (const entry of entries) yield* ledger.release(recipientOf(entry), entry.id)
          yield* admission.forget(entries.map((entry) => entry.id))
          return yield* store.purge(query)
        }),
      nextAllowedAt: (recipient) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => ledger.nextAllowedAt(recipient, now)),
      lastSentAt: (recipient) => ledger.lastSent(recipient),
      history: (id) => Effect.zipRight(get(id), store.history(id))
    })
  })

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
