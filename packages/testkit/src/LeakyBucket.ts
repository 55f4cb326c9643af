/**
 * The portal's request-intensity limit as Bitrix24 describes it: a bucket that fills by one per
 * request and drains at a steady rate; a request that would overflow it is refused with
 * `QUERY_LIMIT_EXCEEDED` and does not fill it.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface LeakyBucketOptions {
  /** How many requests the bucket holds (Bitrix24: 50; Enterprise: 250). */
  readonly limit: number
  /** How many requests drain per second (Bitrix24: 2; Enterprise: 5). */
  readonly drainPerSecond: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LeakyBucket {
  /** Takes one unit at `now` (Unix ms); false when the bucket is full and the request is refused. */
  readonly take: (now: number) => boolean
  /** The bucket's level at `now`, drained. */
  readonly level: (now: number) => number
  readonly options: () => LeakyBucketOptions
  readonly configure: (options: LeakyBucketOptions) => void
  readonly reset: () => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeLeakyBucket = (initial: LeakyBucketOptions): LeakyBucket => {
  let options = initial
  let level = 0
  let updatedAt: number | undefined
  const drain = (now: number) => {
    if (updatedAt !== undefined && now > updatedAt) {
      level = Math.max(0, level - ((now - updatedAt) / 1000) * options.drainPerSecond)
    }
    // A clock moved backwards by a test must not fill the bucket.
    updatedAt = updatedAt === undefined ? now : Math.max(updatedAt, now)
  }
  return {
    take: (now) => {
      drain(now)
      if (level + 1 > options.limit) return false
      level += 1
      return true
    },
    level: (now) => {
      drain(now)
      return level
    },
    options: () => options,
    configure: (next) => {
      options = next
    },
    reset: () => {
      level = 0
      updatedAt = undefined
    }
  }
}
