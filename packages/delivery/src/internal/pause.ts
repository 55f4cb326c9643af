/**
 * A pause on a real timer, not Effect's clock: a test's `TestClock` must not hold delivery's own
 * machinery still (the database waiting for its lock, admission gathering a burst).
 */
import * as Effect from "effect/Effect"

export const pause = (ms: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })
