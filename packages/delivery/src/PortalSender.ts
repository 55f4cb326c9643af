/**
 * How a delivery step sends: through the portal's entity, wherever the cluster placed it (this
 * runner or another). A step never talks to a portal directly, so only the portal's holder spends
 * its budget. A single runner holds every portal itself (`layerLocal`).
 *
 * @since 0.1.0
 */
import type { NetworkMessage } from "@linecast/core"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { RecordedError } from "./OutboxEntry.js"
import type { PortalChannels } from "./PortalChannels.js"
import type { PortalHolder, PortalOptions, PortalStatus, SendOutcome } from "./PortalEntity.js"
import { defaultOptions, hold, PortalEntity } from "./PortalEntity.js"
import type { PortalState } from "./PortalState.js"

/**
 * A send failed; `error` is what the portal's holder recorded (core's tagged error, flattened so it
 * crosses runners).
 *
 * @since 0.1.0
 * @category errors
 */
export class PortalSendError extends Schema.TaggedError<PortalSendError>()("PortalSendError", {
  error: RecordedError
}) {
  override get message() {
    return this.error.message
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PortalSender extends Context.Tag("@linecast/delivery/PortalSender")<
  PortalSender,
  {
    /** Sends one attempt of an entry; `attemptId` is unique per attempt. */
    readonly send: (
      portal: string,
      attemptId: string,
      message: NetworkMessage.NetworkMessage
    ) => Effect.Effect<{ readonly requestId: string }, PortalSendError>
    /** The portal's health, from its holder. */
    readonly status: (portal: string) => Effect.Effect<PortalStatus, PortalSendError>
  }
>() {}

/** The engine could not hand the request to the portal's holder (a full mailbox...): nothing was sent. */
const unreachable = (error: { readonly _tag: string; readonly message: string }) =>
  new PortalSendError({
    error: { tag: error._tag, code: "CLUSTER_UNAVAILABLE", errorClass: "retryable", message: error.message }
  })

const answerOf = (outcome: SendOutcome) =>
  outcome._tag === "Sent"
    ? Effect.succeed({ requestId: outcome.requestId })
    : Effect.fail(new PortalSendError({ error: outcome.error }))

/**
 * Sends through the portal entities of the cluster.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(
  PortalSender,
  Effect.map(PortalEntity.client, (client) => ({
    status: (portal) => client(portal).Status().pipe(Effect.mapError(unreachable)),
    send: (portal, attemptId, message) =>
      client(portal).Send({ attemptId, message }).pipe(Effect.mapError(unreachable), Effect.flatMap(answerOf))
  }))
)

/** A portal held in this process: its holder once made, and whether it is in use. */
interface Held {
  readonly holder: Deferred.Deferred<PortalHolder>
  readonly scope: Scope.CloseableScope
  inUse: number
  lastUsed: number
}

/**
 * Holds the portals in this process, for a runner that is the only one (`SingleRunner`): every portal's entity
 * would live here anyway, so a step reaches the portal's holder (`PortalEntity.hold`: the same queue, packing,
 * bucket and breaker) directly instead of through the cluster (a request and its reply encoded, a message and
 * its mailbox: about 15 % of the worker's CPU a sent message). A portal unused for `idleMs` is put away as the
 * engine puts an idle entity away (its bucket written down for the next holder), so that thousands of portals
 * that send once in a while hold nothing between sends.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLocal = (
  options: PortalOptions = defaultOptions,
  idle: Duration.DurationInput = Duration.minutes(1)
): Layer.Layer<PortalSender, never, PortalChannels | PortalState> =>
  Layer.scoped(
    PortalSender,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const context = yield* Effect.context<PortalChannels | PortalState>()
      const idleMs = Duration.toMillis(idle)
      const held = new Map<string, Held>()

      /** The portal's holder for the time of `use`; made for the first user, in a scope of its own. */
      const withHolder = <A, E>(portal: string, use: (holder: PortalHolder) => Effect.Effect<A, E>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            let entry = held.get(portal)
            if (entry === undefined) {
              const made: Held = {
                holder: Deferred.unsafeMake<PortalHolder>(FiberId.none),
                scope: yield* Scope.fork(scope, ExecutionStrategy.sequential),
                inUse: 0,
                lastUsed: Date.now()
              }
              held.set(portal, made)
              entry = made
              // Made in a fiber of its own, interruptible (the holder's loops inherit that, so that putting it away
              // stops them), which no caller's interruption stops half-way. One that could not be made is not kept:
              // the next user tries again.
              yield* Effect.forkIn(
                Deferred.complete(
                  made.holder,
                  hold(portal, options).pipe(Scope.extend(made.scope), Effect.provide(context))
                ).pipe(
                  Effect.zipRight(Deferred.await(made.holder)),
                  Effect.catchAllCause(() =>
                    Effect.zipRight(
                      Effect.sync(() => {
                        if (held.get(portal) === made) held.delete(portal)
                      }),
                      Scope.close(made.scope, Exit.void)
                    )
                  ),
                  Effect.interruptible
                ),
                scope
              )
            }
            const own = entry
            own.inUse++
            return yield* restore(Effect.flatMap(Deferred.await(own.holder), use)).pipe(
              Effect.ensuring(
                Effect.sync(() => {
                  own.inUse--
                  own.lastUsed = Date.now()
                })
              )
            )
          })
        )

      // Put away what nobody used for `idleMs`; the rest is put away with the layer (its scope's children).
      const sweep = Effect.suspend(() => {
        const now = Date.now()
        const idleOnes = [...held].filter(([, entry]) => entry.inUse === 0 && now - entry.lastUsed >= idleMs)
        for (const [portal] of idleOnes) held.delete(portal)
        return Effect.forEach(idleOnes, ([, entry]) => Scope.close(entry.scope, Exit.void), { discard: true })
      })
      yield* Effect.forkScoped(
        Effect.interruptible(Effect.repeat(sweep, Schedule.spaced(Duration.millis(Math.max(10, idleMs / 2)))))
      )

      return PortalSender.of({
        send: (portal, attemptId, message) =>
          Effect.flatMap(
            withHolder(portal, (holder) => holder.send(attemptId, message)),
            answerOf
          ),
        status: (portal) => withHolder(portal, (holder) => holder.status)
      })
    })
  )
