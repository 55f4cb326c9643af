/**
 * The portal entity: every send to a portal goes through it, and the cluster engine keeps each
 * portal's entity on one runner at a time (work is sharded by portal). So what belongs to the
 * portal is exact without a distributed lock: its leaky-bucket budget and operating time (core's
 * `RateBudget` behind the portal's channel), its OAuth refresh (core's single-flight refresh), its
 * circuit breaker, and the packing of ready messages into `batch` calls (50 per call) when the
 * bucket makes them wait.
 *
 * When the portal moves to another runner, the holder hands over its bucket level, and every attempt
 * is recorded before it is sent (`PortalState`): an attempt a lost runner started is answered as
 * ambiguous and reconciled, never sent blindly again.
 *
 * The holder itself is `hold`: the entity runs it where the engine placed the portal, and a single
 * runner runs it in place, without the cluster (`PortalSender.layerLocal`).
 *
 * @since 0.1.0
 */
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import type { OpenChannel } from "@linecast/core"
import { NetworkMessage } from "@linecast/core"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { BreakerOptions } from "./CircuitBreaker.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as DeliveryMetrics from "./DeliveryMetrics.js"
import { RecordedError, recordedErrorOf } from "./OutboxEntry.js"
import { PortalChannels } from "./PortalChannels.js"
import { PortalState } from "./PortalState.js"

/**
 * What a send answers: the receipt, or the error as recorded in the outbox.
 *
 * @since 0.1.0
 * @category models
 */
export const SendOutcome = Schema.Union(
  Schema.TaggedStruct("Sent", { requestId: Schema.String }),
  Schema.TaggedStruct("Failed", { error: RecordedError })
)

/**
 * @since 0.1.0
 * @category models
 */
export type SendOutcome = typeof SendOutcome.Type

/**
 * A portal's health as its holder sees it (never its credentials).
 *
 * @since 0.1.0
 * @category models
 */
export const PortalStatus = Schema.Struct({
  portal: Schema.String,
  /** False when no channel is configured for the portal. */
  known: Schema.Boolean,
  breaker: Schema.Literal("closed", "open", "half-open"),
  /** Requests in the portal's leaky bucket now, as core counts them. */
  bucketLevel: Schema.Number,
  /** Sends waiting for a call. */
  waiting: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type PortalStatus = typeof PortalStatus.Type

const SendFields = Schema.Struct({ attemptId: Schema.String, message: NetworkMessage.NetworkMessage })

/**
 * A send's payload: `SendFields` on the wire, with a type side made once. A client checks every payload it
 * sends against its schema's type, which Effect derives anew on each call for a schema that renames keys (as
 * `NetworkMessage` does), compiling a new validator each time: 30-50 µs a message in delivery's worker. Made
 * once, it is compiled once; the payload is still checked where it is encoded, and its wire form is unchanged.
 */
const SendPayload = Schema.transform(SendFields, Schema.typeSchema(SendFields), {
  strict: true,
  decode: identity,
  encode: identity
})

/**
 * @since 0.1.0
 * @category entities
 */
export const PortalEntity = Entity.make("linecast/Portal", [
  Rpc.make("Send", {
    /** `attemptId` names this attempt of an outbox entry: it is recorded before the message is sent. */
    payload: SendPayload,
    success: SendOutcome
  }),
  Rpc.make("Status", { success: PortalStatus })
])

/**
 * @since 0.1.0
 * @category models
 */
export interface PortalOptions {
  /** Messages per `batch` call (the server allows 50 commands). 1 turns packing off. */
  readonly maxBatch: number
  /** Calls a portal may have in flight at once. */
  readonly concurrency: number
  readonly breaker: BreakerOptions
  /** How often the bucket's level is written down for the next holder. */
  readonly bucketSnapshotMs: number
  /** How long started attempts are remembered. */
  readonly attemptMemoryMs: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultOptions: PortalOptions = {
  maxBatch: 50,
  concurrency: 4,
  breaker: CircuitBreaker.defaultOptions,
  bucketSnapshotMs: 1_000,
  attemptMemoryMs: 30 * 24 * 3600 * 1000
}

interface Pending {
  readonly attemptId: string
  readonly message: NetworkMessage.NetworkMessage
  readonly answer: Deferred.Deferred<SendOutcome>
}

const failed = (error: RecordedError): SendOutcome => ({ _tag: "Failed", error })

/** Errors that say the portal is not answering, as opposed to answering about the message. */
const unavailable = new Set([
  "CONNECTION_REFUSED",
  "CONNECTION_RESET",
  "TIMEOUT",
  "BAD_RESPONSE",
  "INTERNAL_SERVER_ERROR",
  "OVERLOAD_LIMIT"
])

const interrupted = failed({
  tag: "AttemptInterruptedError",
  code: "ATTEMPT_INTERRUPTED",
  errorClass: "ambiguous",
  message: "An earlier holder of the portal started this attempt and its answer was lost: it may have landed"
})

/** The portal's sending loop: packs what is waiting into calls, within the breaker. */
const makeSender = (portal: string, channel: OpenChannel.OpenChannel.Service, options: PortalOptions) =>
  Effect.gen(function* () {
    const state = yield* PortalState
    const breaker = yield* CircuitBreaker.make(portal, options.breaker)
    const queue = yield* Queue.unbounded<Pending>()
    const gauge = Metric.tagged(DeliveryMetrics.breakerOpen, "portal", portal)

    const settle = (items: ReadonlyArray<Pending>, outcome: (item: Pending, index: number) => SendOutcome) =>
      Effect.forEach(items, (item, index) => Deferred.succeed(item.answer, outcome(item, index)), { discard: true })

    /** `paid`: the call is about to take its unit of the bucket (see the packer below). */
    const call = (items: ReadonlyArray<Pending>, paid: Effect.Effect<void>) =>
      Effect.gen(function* () {
        const admitted = yield* Effect.either(breaker.admit)
        if (Either.isLeft(admitted)) return yield* settle(items, () => failed(recordedErrorOf(admitted.left)))
        const now = yield* Clock.currentTimeMillis
        const begun = yield* Effect.either(
          state.begin(
            portal,
            items.map((item) => item.attemptId),
            now
          )
        )
        if (Either.isLeft(begun)) {
          // Nothing was sent: the step tries again later.
          yield* breaker.succeeded
          return yield* settle(items, () =>
            failed({ ...recordedErrorOf(begun.left), code: "STORAGE_UNAVAILABLE", errorClass: "retryable" })
          )
        }
        // The same attempt may reach the holder twice (the engine re-sends a request whose runner looked
        // lost): it goes out once, and each copy gets its answer.
        const fresh: Array<Pending> = []
        const copies: Array<Pending> = []
        for (const item of items) {
          if (!begun.right.has(item.attemptId)) continue
          if (fresh.some((other) => other.attemptId === item.attemptId)) copies.push(item)
          else fresh.push(item)
        }
        yield* settle(
          items.filter((item) => !begun.right.has(item.attemptId)),
          () => interrupted
        )
        if (fresh.length === 0) return
        yield* paid
        const outcomes =
          fresh.length === 1
            ? [yield* Effect.either(channel.send(fresh[0]!.message))]
            : yield* channel.sendMany(fresh.map((item) => item.message))
        yield* Metric.update(DeliveryMetrics.batchSize, fresh.length)
        const portalDown = outcomes.every((outcome) => Either.isLeft(outcome) && unavailable.has(outcome.left.code))
        yield* portalDown ? breaker.failed : breaker.succeeded
        yield* Metric.set(gauge, (yield* breaker.state) === "closed" ? 0 : 1)
        const answers = fresh.map((_, index): SendOutcome => {
          const outcome = outcomes[index]!
          return Either.isRight(outcome)
            ? { _tag: "Sent", requestId: outcome.right.requestId }
            : failed(recordedErrorOf(outcome.left))
        })
        yield* settle(fresh, (_, index) => answers[index]!)
        yield* settle(copies, (copy) => answers[fresh.findIndex((item) => item.attemptId === copy.attemptId)]!)
      })

    // Whatever goes wrong, every waiting send gets an answer.
    const guarded = (items: ReadonlyArray<Pending>, paid: Effect.Effect<void>) =>
      call(items, paid).pipe(
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logError("portal call failed unexpectedly", cause),
            settle(items, () =>
              failed({
                tag: "PortalDefect",
                code: "PORTAL_DEFECT",
                errorClass: "ambiguous",
                message: "The send failed unexpectedly; it may have executed"
              })
            )
          )
        )
      )

    // One packer chooses what goes into each call, and only once the bucket has room for it: the sends that
    // arrive while it waits ride along, up to `maxBatch`. Calls then run side by side, up to `concurrency`.
    // `unpaid` counts the calls handed on whose unit core has not taken yet, so that the next call waits
    // behind them instead of leaving at once with the one send that came next.
    const calls = yield* Effect.makeSemaphore(options.concurrency)
    let unpaid = 0
    const packer = Effect.forever(
      Effect.gen(function* () {
        const first = yield* Queue.take(queue)
        yield* calls.take(1)
        const wait = yield* channel.budget.room(channel.host, unpaid + 1)
        if (wait > 0) yield* Effect.sleep(Duration.millis(Math.ceil(wait)))
        const items = [first, ...Chunk.toReadonlyArray(yield* Queue.takeUpTo(queue, options.maxBatch - 1))]
        unpaid++
        let settled = false
        const paid = Effect.sync(() => {
          if (settled) return
          settled = true
          unpaid--
        })
        yield* Effect.forkScoped(guarded(items, paid).pipe(Effect.ensuring(Effect.zipRight(paid, calls.release(1)))))
      })
    )
    yield* Effect.forkScoped(packer)

    return {
      send: (attemptId: string, message: NetworkMessage.NetworkMessage) =>
        Effect.flatMap(Deferred.make<SendOutcome>(), (answer) =>
          Effect.zipRight(Queue.offer(queue, { attemptId, message, answer }), Deferred.await(answer))
        ),
      status: Effect.map(
        Effect.all([breaker.state, channel.budget.level(channel.host), Queue.size(queue)]),
        ([breaker, bucketLevel, waiting]): PortalStatus => ({
          portal,
          known: true,
          breaker,
          bucketLevel,
          waiting: Math.max(0, waiting)
        })
      )
    }
  })

/**
 * What holds a portal: its sends and its status.
 *
 * @since 0.1.0
 * @category models
 */
export interface PortalHolder {
  readonly send: (attemptId: string, message: NetworkMessage.NetworkMessage) => Effect.Effect<SendOutcome>
  readonly status: Effect.Effect<PortalStatus>
}

/**
 * A portal's holder, for as long as `Scope` lives: its channel from `PortalChannels`, its bucket taken over as the
 * last holder left it and handed on the same way.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hold = (portal: string, options: PortalOptions = defaultOptions) =>
  Effect.gen(function* () {
    const channels = yield* PortalChannels
    const state = yield* PortalState
    const channel = yield* Effect.either(channels.channel(portal))
    if (Either.isLeft(channel)) {
      const unknown = failed(recordedErrorOf(channel.left))
      const status: PortalStatus = { portal, known: false, breaker: "closed", bucketLevel: 0, waiting: 0 }
      return { send: () => Effect.succeed(unknown), status: Effect.succeed(status) } satisfies PortalHolder
    }
    const { budget, host } = channel.right

    // Take over the bucket as the last holder left it, and hand it on the same way.
    const saved = yield* Effect.orElseSucceed(state.bucket(portal), () => undefined)
    if (saved !== undefined) yield* budget.restore(host, saved.level, saved.at)
    // An idle portal's empty bucket is written once, not every second.
    let written = -1
    const snapshot = Effect.flatMap(Effect.zip(budget.level(host), Clock.currentTimeMillis), ([level, at]) =>
      level === 0 && written === 0
        ? Effect.void
        : Effect.tap(state.saveBucket(portal, level, at), () => {
            written = level
          })
    ).pipe(Effect.ignoreLogged)
    yield* Effect.addFinalizer(() => snapshot)
    yield* Effect.forkScoped(Effect.repeat(snapshot, Schedule.spaced(options.bucketSnapshotMs)))
    const now = yield* Clock.currentTimeMillis
    yield* state.forget(portal, now - options.attemptMemoryMs).pipe(Effect.ignoreLogged)

    const sender = yield* makeSender(portal, channel.right, options)
    return { send: sender.send, status: sender.status } satisfies PortalHolder
  })

/**
 * The entity's behaviour on every runner (see `hold`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: PortalOptions = defaultOptions) =>
  PortalEntity.toLayer(
    Effect.gen(function* () {
      const address = yield* Entity.CurrentAddress
      const holder = yield* hold(address.entityId, options)
      return PortalEntity.of({
        Send: ({ payload }) => holder.send(payload.attemptId, payload.message),
        Status: () => holder.status
      })
    }),
    // Sends wait in the portal's own queue, where they are packed into batches.
    { concurrency: "unbounded", mailboxCapacity: "unbounded" }
  )
