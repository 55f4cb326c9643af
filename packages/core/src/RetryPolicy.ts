/**
 * When and how often core sends a request again: only when the error's class says it did not
 * execute (`retryable`, `rateLimited`), never for `ambiguous` (that surfaces so delivery can
 * reconcile), on a replaceable `Schedule` (exponential, jittered, capped, bounded).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { ErrorClass } from "./BitrixError.js"
import { isSafeToRetry } from "./BitrixError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  /** The pauses between attempts; its end ends the retries. */
  readonly schedule: Schedule.Schedule<unknown, unknown>
  /** Which errors may be retried; by default the classes known not to have executed. */
  readonly retryWhen: (error: { readonly errorClass: ErrorClass }) => boolean
}

/**
 * Exponential from `base`, jittered, each pause capped at `cap`, at most `times` retries.
 *
 * @since 0.1.0
 * @category constructors
 */
export const exponential = (
  options: {
    readonly base?: Duration.DurationInput
    readonly factor?: number
    readonly cap?: Duration.DurationInput
    readonly times?: number
  } = {}
): Schedule.Schedule<unknown, unknown> => {
  const cap = Duration.decode(options.cap ?? "30 seconds")
  return Schedule.exponential(options.base ?? "500 millis", options.factor ?? 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, cap)),
    Schedule.intersect(Schedule.recurs(options.times ?? 5))
  )
}

/**
 * The default: 500 ms doubling, jittered, capped at 30 s, at most 5 retries, only for errors that
 * did not execute.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPolicy: RetryPolicy = {
  schedule: exponential(),
  retryWhen: (error) => isSafeToRetry(error.errorClass)
}

/**
 * A policy with another schedule and the default predicate.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  schedule: Schedule.Schedule<unknown, unknown>,
  retryWhen = defaultPolicy.retryWhen
): RetryPolicy => ({
  schedule,
  retryWhen: (error) => error.errorClass !== "ambiguous" && retryWhen(error)
})

/**
 * Never retries.
 *
 * @since 0.1.0
 * @category constructors
 */
export const never: RetryPolicy = { schedule: Schedule.stop, retryWhen: () => false }
