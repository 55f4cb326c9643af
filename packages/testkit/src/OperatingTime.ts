/**
 * Per-method operating-time accounting, as the server's `LoadLimiter` does it: each method, for each
 * credential (a webhook, or an application), may use `limitSeconds` of server time in any
 * `windowSeconds` (420 s in 10 minutes in the server's code; the docs say 480); past that it answers
 * `OPERATION_TIME_LIMIT` until enough of its recent cost has left the window. Every answer reports
 * the method's use (`time.operating`) and when part of it is released (`time.operating_reset_at`).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface OperatingTimeOptions {
  /** Server time a method may use in one window, in seconds (Bitrix24: 480). */
  readonly limitSeconds: number
  /** The sliding window, in seconds (Bitrix24: 600). */
  readonly windowSeconds: number
  /** The simulated server time each call costs, in seconds, by default. */
  readonly costSeconds: number
  /** A simulated cost per method name (lower case), overriding `costSeconds`. */
  readonly costByMethod?: Readonly<Record<string, number>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OperatingUsage {
  /** Seconds of server time the method has used in the window. */
  readonly operating: number
  /** Unix seconds when the oldest cost in the window leaves it. */
  readonly resetAt: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OperatingTime {
  /** Whether the key (a credential and a method, as the server keys it) is blocked at `now` (Unix ms). */
  readonly blocked: (key: string, now: number) => boolean
  /** Records one call of `method` under `key` that ended at `now`; returns the cost charged, in seconds. */
  readonly charge: (key: string, method: string, now: number) => number
  /** The key's use at `now`. */
  readonly usage: (key: string, now: number) => OperatingUsage
  readonly options: () => OperatingTimeOptions
  readonly configure: (options: OperatingTimeOptions) => void
  readonly reset: () => void
}

interface Entry {
  readonly at: number
  readonly cost: number
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeOperatingTime = (initial: OperatingTimeOptions): OperatingTime => {
  let options = initial
  const entries = new Map<string, Array<Entry>>()
  const live = (key: string, now: number): Array<Entry> => {
    const windowMs = options.windowSeconds * 1000
    const kept = (entries.get(key) ?? []).filter((entry) => entry.at + windowMs > now)
    entries.set(key, kept)
    return kept
  }
  const usage = (key: string, now: number): OperatingUsage => {
    const kept = live(key, now)
    const operating = kept.reduce((sum, entry) => sum + entry.cost, 0)
    const oldest = kept[0]?.at ?? now
    return { operating, resetAt: Math.floor((oldest + options.windowSeconds * 1000) / 1000) }
  }
  return {
    blocked: (key, now) => usage(key, now).operating > options.limitSeconds,
    charge: (key, method, now) => {
      const cost = options.costByMethod?.[method] ?? options.costSeconds
      if (cost > 0) live(key, now).push({ at: now, cost })
      return cost
    },
    usage,
    options: () => options,
    configure: (next) => {
      options = next
    },
    reset: () => entries.clear()
  }
}
