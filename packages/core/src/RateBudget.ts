/**
 * A per-portal leaky bucket matching the portal's own (default 50 requests, draining 2 per second;
 * Enterprise 250 and 5), so that core waits instead of being refused with `QUERY_LIMIT_EXCEEDED`;
 * and per-method operating-time awareness from `time.operating` / `operating_reset_at`, so that core
 * slows down before the portal blocks the method. In memory: delivery shards work by portal, so one
 * budget per portal stays exact.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { OperationTimeLimitError } from "./BitrixError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RateBudgetOptions {
  /** Requests the portal's bucket holds. Default 50. */
  readonly limit?: number
  /** Requests drained per second. Default 2. */
  readonly drainPerSecond?: number
  /**
   * Units of the bucket core leaves unused, because the portal counts a request when it arrives and
   * arrivals jitter with the network: by default what drains in 250 ms, at least 1 (1 at 2/s, 2 at 5/s).
   */
  readonly headroom?: number
  /** The operating time a method may use in the window, in seconds. Default 420 (the server's code). */
  readonly operatingLimitSeconds?: number
  /** Start waiting for `operating_reset_at` once this share of the operating limit is used. Default 0.9. */
  readonly operatingThreshold?: number
  /**
   * The longest core waits for a method's operating time to reset; past it `take` refuses at once with
   * `OperationTimeLimitError` (`source: "local"`, `retryAfterMillis`) rather than hold the caller. Default 30 s.
   */
  readonly maxOperatingWaitMillis?: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RateBudget extends Context.Tag("@linecast/core/RateBudget")<RateBudget, RateBudget.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace RateBudget {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Waits until the portal's bucket has room for one request (and the method is not near its operating limit), then takes it. */
    readonly take: (portal: string, method: string) => Effect.Effect<void, OperationTimeLimitError>
    /** The portal refused a request with `QUERY_LIMIT_EXCEEDED`: its bucket is full, whatever core counted. */
    readonly full: (portal: string) => Effect.Effect<void>
    /** Records a method's operating time from a successful answer's `time`. */
    readonly observeOperating: (
      portal: string,
      method: string,
      usage: { readonly operating?: number | undefined; readonly operatingResetAt?: number | undefined }
    ) => Effect.Effect<void>
    /** The method was refused with `OPERATION_TIME_LIMIT`: wait for its last known reset, or `fallbackMillis`. */
    readonly blockOperating: (portal: string, method: string, fallbackMillis: number) => Effect.Effect<void>
    /** The bucket's level now, counting requests granted and not yet drained (for handing a portal over). */
    readonly level: (portal: string) => Effect.Effect<number>
    /**
     * How long (ms) until `units` more requests fit in the portal's bucket, without taking anything: a
     * caller packing many messages into one request waits this long first, so what arrives meanwhile rides along.
     */
    readonly room: (portal: string, units: number) => Effect.Effect<number>
    /**
     * Raises the bucket to at least what the portal's previous holder left in it: `level` at `at`
     * (Unix ms), drained since.
     */
    readonly restore: (portal: string, level: number, at: number) => Effect.Effect<void>
  }
}

/**
 * How many requests waited for the bucket, by portal.
 *
 * @since 0.1.0
 * @category metrics
 */
export const bucketWaits = Metric.counter("linecast_core_bucket_waits", {
  description: "Requests that waited for room in a portal's leaky bucket"
})

interface State {
  /** The bucket's level at `updatedAt`, counting requests already granted. */
  readonly level: number
  readonly updatedAt: number
  /** Unix ms until which a method (`portal|method`) should not be called. */
  readonly blockedUntil: ReadonlyMap<string, number>
  /** The last `operating_reset_at` (Unix ms) seen for a method, to wait for after `OPERATION_TIME_LIMIT`. */
  readonly resetAt: ReadonlyMap<string, number>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RateBudgetOptions = {}): Effect.Effect<RateBudget.Service> =>
  Effect.gen(function* () {
    const drain = options.drainPerSecond ?? 2
    const limit = Math.max(1, (options.limit ?? 50) - (options.headroom ?? Math.max(1, Math.ceil(drain / 4))))
    const operatingLimit = options.operatingLimitSeconds ?? 420
    const threshold = options.operatingThreshold ?? 0.9
    const maxOperatingWait = options.maxOperatingWaitMillis ?? 30_000
    const states = yield* SynchronizedRef.make(new Map<string, State>())
    const stateOf = (map: Map<string, State>, portal: string, now: number): State => {
      const state = map.get(portal) ?? { level: 0, updatedAt: now, blockedUntil: new Map(), resetAt: new Map() }
      const level = Math.max(0, state.level - (Math.max(0, now - state.updatedAt) / 1000) * drain)
      return { ...state, level, updatedAt: Math.max(now, state.updatedAt) }
    }
    const update = (portal: string, f: (state: State, now: number) => State) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        SynchronizedRef.update(states, (map) => new Map(map).set(portal, f(stateOf(map, portal, now), now)))
      )
    const take = (portal: string, method: string) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // Reserve the unit now and sleep until the bucket has drained enough for it, so concurrent
        // callers queue in order without a lock held while they wait.
        const waitMillis = yield* SynchronizedRef.modify(states, (map) => {
          const state = stateOf(map, portal, now)
          const operatingWait = Math.max(0, (state.blockedUntil.get(`${portal}|${method}`) ?? 0) - now)
          // A long operating-time wait is refused without taking a unit of the bucket.
          if (operatingWait > maxOperatingWait) return [-operatingWait, map] as const
          const over = state.level + 1 - limit
          // The state may stand a little ahead of this fiber's clock reading; wait from the state's time.
          const bucketWait = over > 0 ? (over / drain) * 1000 + (state.updatedAt - now) : 0
          const next = new Map(map).set(portal, { ...state, level: state.level + 1 })
          return [Math.max(bucketWait, operatingWait), next] as const
        })
        if (waitMillis < 0) {
          return yield* new OperationTimeLimitError({
            source: "local",
            description: "The method's operating time is spent until its reset",
            retryAfterMillis: Math.ceil(-waitMillis)
          })
        }
        if (waitMillis > 0) {
          yield* Metric.increment(Metric.tagged(bucketWaits, "portal", portal))
          yield* Effect.annotateCurrentSpan("linecast.bucket_wait_ms", Math.ceil(waitMillis))
          yield* Effect.sleep(Duration.millis(Math.ceil(waitMillis)))
        }
      })
    return {
      take,
      full: (portal) => update(portal, (state) => ({ ...state, level: Math.max(state.level, limit) })),
      level: (portal) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(SynchronizedRef.get(states), (map) => stateOf(map, portal, now).level)
        ),
      room: (portal, units) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(SynchronizedRef.get(states), (map) => {
            const state = stateOf(map, portal, now)
            const over = state.level + units - limit
            return over > 0 ? (over / drain) * 1000 + (state.updatedAt - now) : 0
          })
        ),
      restore: (portal, level, at) =>
        update(portal, (state, now) => ({
          ...state,
          level: Math.max(state.level, level - (Math.max(0, now - at) / 1000) * drain)
        })),
      observeOperating: (portal, method, usage) =>
        update(portal, (state, now) => {
          const key = `${portal}|${method}`
          const resetAt =
            usage.operatingResetAt === undefined
              ? state.resetAt
              : new Map(state.resetAt).set(key, usage.operatingResetAt * 1000)
          if (usage.operating === undefined || usage.operating < operatingLimit * threshold)
            return { ...state, resetAt }
          const until = resetAt.get(key) ?? now + 60_000
          return { ...state, resetAt, blockedUntil: new Map(state.blockedUntil).set(key, until) }
        }),
      blockOperating: (portal, method, fallbackMillis) =>
        update(portal, (state, now) => {
          const key = `${portal}|${method}`
          const knownReset = state.resetAt.get(key)
          const until = Math.max(
            state.blockedUntil.get(key) ?? 0,
            knownReset !== undefined && knownReset > now ? knownReset : now + fallbackMillis
          )
          return { ...state, blockedUntil: new Map(state.blockedUntil).set(key, until) }
        })
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RateBudgetOptions = {}): Layer.Layer<RateBudget> =>
  Layer.effect(RateBudget, make(options))

/**
 * The bucket from the environment: `LINECAST_BUCKET_LIMIT` (default 50) and
 * `LINECAST_BUCKET_DRAIN_PER_SECOND` (default 2); Enterprise portals use 250 and 5.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<RateBudgetOptions, "limit" | "drainPerSecond"> = {}
): Layer.Layer<RateBudget, ConfigError.ConfigError> =>
  Layer.effect(
    RateBudget,
    Effect.flatMap(
      Config.all({
        limit: Config.integer("LINECAST_BUCKET_LIMIT").pipe(Config.withDefault(50)),
        drainPerSecond: Config.number("LINECAST_BUCKET_DRAIN_PER_SECOND").pipe(Config.withDefault(2))
      }).pipe(
        Config.validate({
          message: "the bucket's limit and drain must be positive",
          validation: ({ limit, drainPerSecond }) => limit > 0 && drainPerSecond > 0
        })
      ),
      (bucket) => make({ ...options, ...bucket })
    )
  )

/**
 * A budget that never waits, for portals without limits (tests, benchmarks).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnlimited: Layer.Layer<RateBudget> = Layer.succeed(RateBudget, {
  take: () => Effect.void,
  full: () => Effect.void,
  observeOperating: () => Effect.void,
  blockOperating: () => Effect.void,
  level: () => Effect.succeed(0),
  room: () => Effect.succeed(0),
  restore: () => Effect.void
})
