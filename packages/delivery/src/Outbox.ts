/**
 * The outbox: where adapters hand messages to delivery. `enqueue` validates a message with core,
 * stores it durably under its idempotency key (the same key never makes a second message) and
 * starts its delivery workflow; the rest reads and steers what is there: list, read, replay, purge.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { WorkflowEngine } from "@effect/workflow"
import { BitrixError, NetworkMessage } from "@linecast/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import { EntryNotFoundError, NotReplayableError } from "./DeliveryError.js"
import * as DeliveryMetrics from "./DeliveryMetrics.js"
import { DeliveryWorkflow } from "./DeliveryWorkflow.js"
import { storageError } from "./internal/tables.js"
import type { DeliveryPolicy, HistoryRecord, OutboxEntry, Recipient } from "./OutboxEntry.js"
import { recipientOf } from "./OutboxEntry.js"
import type { OutboxConflictError, OutboxQuery, OutboxStorageError } from "./OutboxStore.js"
import { OutboxStore } from "./OutboxStore.js"
import { PendingStarts } from "./PendingStarts.js"
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

/** Entries read at a time by the start-up sweep. */
const sweepPage = 500

/** Starts waiting in memory for the engine. */
const startQueueCapacity = 10_000

/**
 * @since 0.1.0
 * @category models
 */
export interface OutboxOptions {
  /** How often this runner looks for workflows accepted but never started (their runner died). */
  readonly sweepIntervalMs: number
  /** A start still pending after this long is taken as lost. */
  readonly staleStartMs: number
  /** Workflows handed to the engine at once. */
  readonly startConcurrency: number
  /**
   * An entry `queued` or `sending` that has not moved for this long has its workflow started and resumed again
   * (harmless when it runs): the engine can lose track of an execution when its runner or database connection
   * dies at the wrong moment.
   */
  readonly stallMs: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultOptions: OutboxOptions = {
  sweepIntervalMs: 10_000,
  staleStartMs: 30_000,
  startConcurrency: 64,
  stallMs: 120_000
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
    const engine = yield* WorkflowEngine.WorkflowEngine
    const sql = yield* SqlClient.SqlClient
    const pending = yield* PendingStarts
    const execute = (entry: { readonly id: string; readonly generation: number }) =>
      DeliveryWorkflow.execute({ entryId: entry.id, generation: entry.generation }, { discard: true }).pipe(
        Effect.provideService(WorkflowEngine.WorkflowEngine, engine),
        Effect.zipRight(pending.remove(entry.id, entry.generation)),
        Effect.catchAllCause((cause) =>
          Effect.logWarning("delivery workflow not started; the next sweep starts it", cause)
        )
      )
    /** Stores an entry and its pending start together: whatever happens next, the start is not lost. */
    const withStart = <A, E>(write: Effect.Effect<A, E>, entry: (written: A) => OutboxEntry | undefined) =>
      sql
        .withTransaction(
          Effect.tap(write, (written) => {
            const started = entry(written)
            return started === undefined ? Effect.void : pending.add(started.id, started.generation, started.updatedAt)
          })
        )
        .pipe(
          Effect.catchIf(
            (error): error is SqlError => (error as { readonly _tag?: unknown })._tag === "SqlError",
            (error) => Effect.fail(storageError("store")(error))
          )
        )
    // Starting a workflow waits for the engine to take the message (its reply poll): `enqueue` answers
    // once the entry is stored, and starts the workflow beside it. Starts go through a queue served by
    // `startConcurrency` fibers, so that a burst of enqueues (a flood of CRM events, a busy chat) is
    // answered first and handed to the engine at its own pace; a portal takes at most ~100 messages a
    // second anyway. A start lost with its process is in the pending starts, for the sweeps below.
    // Bounded: past it a start is dropped here and left to the pending-start sweep, so memory stays flat
    // whatever the backlog.
    const starts = yield* Queue.dropping<{ readonly id: string; readonly generation: number }>(startQueueCapacity)
    yield* Effect.forkScoped(
      Effect.all(
        Array.from({ length: options.startConcurrency }, () =>
          Effect.forever(Effect.flatMap(Queue.take(starts), execute))
        ),
        { concurrency: "unbounded", discard: true }
      )
    )
    const start = (entry: OutboxEntry) =>
      Queue.offer(starts, { id: entry.id, generation: entry.generation }).pipe(Effect.asVoid)
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        for (let offset = 0; ; offset += sweepPage) {
          const page = yield* store.list({ state: ["queued", "deferred", "sending"], limit: sweepPage, offset })
          yield* Effect.forEach(page, execute, { concurrency: 16, discard: true })
          if (page.length < sweepPage) return
        }
      }).pipe(Effect.catchAll((error) => Effect.logWarning("outbox sweep stopped", { reason: error.message })))
    )
    // Starts whose runner died after storing the entry.
    yield* Effect.forkScoped(
      Effect.flatMap(Clock.currentTimeMillis, (now) => pending.stale(now - options.staleStartMs, sweepPage)).pipe(
        Effect.flatMap((lost) =>
          Effect.as(
            Effect.forEach(lost, ({ entryId, generation }) => execute({ id: entryId, generation }), {
              concurrency: options.startConcurrency,
              discard: true
            }),
            lost.length
          )
        ),
        // Page after page while there is a backlog of lost (or dropped) starts.
        Effect.repeat({ while: (found) => found === sweepPage, times: 200 }),
        Effect.catchAll((error) => Effect.logWarning("pending-start sweep failed", { reason: error.message })),
        Effect.repeat(Schedule.spaced(options.sweepIntervalMs)),
        Effect.delay(options.sweepIntervalMs)
      )
    )

    // Work that stopped moving: start (if it never was) and resume (if it is suspended) its execution.
    const nudge = (entry: OutboxEntry) =>
      Effect.zipRight(
        execute(entry),
        Effect.flatMap(DeliveryWorkflow.executionId({ entryId: entry.id, generation: entry.generation }), (id) =>
          DeliveryWorkflow.resume(id)
        ).pipe(Effect.provideService(WorkflowEngine.WorkflowEngine, engine), Effect.ignoreLogged)
      )
    yield* Effect.forkScoped(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        store.list({ state: ["queued", "sending"], updatedBefore: now - options.stallMs, limit: sweepPage })
      ).pipe(
        Effect.flatMap((stalled) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.forEach(
              // A message scheduled for later is waiting, not stalled.
              stalled.filter((entry) => (entry.notBefore ?? 0) <= now),
              nudge,
              { concurrency: options.startConcurrency, discard: true }
            )
          )
        ),
        Effect.catchAll((error) => Effect.logWarning("stalled-work sweep failed", { reason: error.message })),
        Effect.repeat(Schedule.spaced(options.sweepIntervalMs)),
        Effect.delay(options.sweepIntervalMs)
      )
    )

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
          // Started on every enqueue: after a crash between insert and start, the retry starts it.
          yield* start(stored.entry)
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
          const saved = yield* withStart(store.save(replayed), (written) => written)
          yield* start(saved)
          return saved
        }),
      purge: (query) =>
        Effect.gen(function* () {
          const entries = yield* store.list({ ...query, limit: 100_000 })
          for (const entry of entries) yield* ledger.release(recipientOf(entry), entry.id)
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
