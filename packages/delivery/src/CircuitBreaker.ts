/**
 * A portal that keeps failing (unreachable, answering 5xx, timing out) is paused rather than
 * hammered: after `failureThreshold` failed calls in a row the breaker opens and refuses at once;
 * after `openMs` it lets one probe through (half-open); the probe's success closes it, its failure
 * opens it again for twice as long (up to `maxOpenMs`). One breaker per portal, held by the portal's
 * entity, so its state is exact.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

/**
 * The portal's breaker is open: nothing was sent; try again after `retryAfterMs`.
 *
 * @since 0.1.0
 * @category errors
 */
export class PortalUnavailableError extends Schema.TaggedError<PortalUnavailableError>()("PortalUnavailableError", {
  portal: Schema.String,
  retryAfterMs: Schema.Number
}) {
  readonly code = "PORTAL_UNAVAILABLE"
  readonly errorClass = "retryable"
  override get message() {
    return `The portal ${this.portal} keeps failing: paused, nothing was sent; next probe in ${Math.ceil(this.retryAfterMs / 1000)} s`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type BreakerState = "closed" | "open" | "half-open"

/**
 * @since 0.1.0
 * @category models
 */
export interface BreakerOptions {
  /** Failed calls in a row that open the breaker. Default 5. */
  readonly failureThreshold: number
  /** How long the breaker stays open before a probe. Default 30 s. */
  readonly openMs: number
  /** The longest open period after repeated failed probes. Default 5 min. */
  readonly maxOpenMs: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultOptions: BreakerOptions = { failureThreshold: 5, openMs: 30_000, maxOpenMs: 300_000 }

/**
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  /** Lets a call through, or refuses it while the breaker is open (and while a probe is out). */
  readonly admit: Effect.Effect<void, PortalUnavailableError>
  /** The call got an answer from the portal (even an error answer about the message). */
  readonly succeeded: Effect.Effect<void>
  /** The call failed the way an unavailable portal fails. */
  readonly failed: Effect.Effect<void>
  readonly state: Effect.Effect<BreakerState>
}

interface State {
  readonly failures: number
  /** Unix ms until which calls are refused; 0 when closed. */
  readonly openUntil: number
  readonly openMs: number
  readonly probing: boolean
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (portal: string, options: BreakerOptions = defaultOptions): Effect.Effect<CircuitBreaker> =>
  Effect.map(
    Ref.make<State>({ failures: 0, openUntil: 0, openMs: options.openMs, probing: false }),
    (ref): CircuitBreaker => ({
      admit: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatten(
          Ref.modify(ref, (state): readonly [Effect.Effect<void, PortalUnavailableError>, State] => {
            if (state.openUntil === 0) return [Effect.void, state]
            if (now < state.openUntil || state.probing)
              return [
                Effect.fail(
                  new PortalUnavailableError({ portal, retryAfterMs: Math.max(1_000, state.openUntil - now) })
                ),
                state
              ]
            return [Effect.void, { ...state, probing: true }]
          })
        )
      ),
      succeeded: Ref.set(ref, { failures: 0, openUntil: 0, openMs: options.openMs, probing: false }),
      failed: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(ref, (state) => {
          if (state.probing) {
            const openMs = Math.min(options.maxOpenMs, state.openMs * 2)
            return { failures: state.failures + 1, openUntil: now + openMs, openMs, probing: false }
          }
          const failures = state.failures + 1
          return failures >= options.failureThreshold && state.openUntil === 0
            ? { failures, openUntil: now + state.openMs, openMs: state.openMs, probing: false }
            : { ...state, failures }
        })
      ),
      state: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(
          Ref.get(ref),
          (state): BreakerState =>
            state.openUntil === 0 ? "closed" : state.probing || now >= state.openUntil ? "half-open" : "open"
        )
      )
    })
  )
