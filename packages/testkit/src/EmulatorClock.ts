/**
 * The emulator's clock: real time shifted by an offset that tests control, or frozen at an
 * instant. Every time-dependent rule of the emulator (the weekly rule, the leaky bucket's drain,
 * operating time, token expiry) reads this clock, so a test can cross a week without waiting.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface EmulatorClock {
  /** The emulator's current time in Unix milliseconds. */
  readonly now: () => number
  /** Moves the clock forward (or back, with a negative value) by `milliseconds`. */
  readonly advance: (milliseconds: number) => void
  /** Sets the clock to an instant; it keeps running from there unless frozen. */
  readonly set: (unixMilliseconds: number) => void
  /** Stops the clock where it is: only `advance` and `set` move it until `resume`. */
  readonly freeze: () => void
  /** Lets a frozen clock run again from where it stands. */
  readonly resume: () => void
  /** Whether the clock is frozen. */
  readonly frozen: () => boolean
}

/**
 * Makes a clock that reads `Date.now()` shifted by an offset.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeEmulatorClock = (realNow: () => number = Date.now): EmulatorClock => {
  let offset = 0
  let frozenAt: number | undefined
  const now = () => frozenAt ?? realNow() + offset
  return {
    now,
    advance: (milliseconds) => {
      if (frozenAt !== undefined) frozenAt += milliseconds
      else offset += milliseconds
    },
    set: (unixMilliseconds) => {
      if (frozenAt !== undefined) frozenAt = unixMilliseconds
      else offset = unixMilliseconds - realNow()
    },
    freeze: () => {
      frozenAt = now()
    },
    resume: () => {
      if (frozenAt === undefined) return
      offset = frozenAt - realNow()
      frozenAt = undefined
    },
    frozen: () => frozenAt !== undefined
  }
}
