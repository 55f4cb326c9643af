/**
 * A portal's health as the console shows it: rate-budget use, operating time, circuit breaker and
 * token health (never the token). Supplied by whoever runs the console; a figure nobody measures yet
 * is `undefined` and shown as "not measured", never invented.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type BreakerState = "closed" | "open" | "half-open"

/**
 * `webhook`: an incoming webhook, which has no token to expire.
 *
 * @since 0.1.0
 * @category models
 */
export type TokenHealth = "ok" | "expiring" | "refresh-failed" | "webhook"

/**
 * @since 0.1.0
 * @category models
 */
export interface PortalStatus {
  readonly id: string
  readonly domain?: string | undefined
  /** The leaky bucket: how full it is, against its limit (Bitrix24: 50 on most plans). */
  readonly budget?: { readonly level: number; readonly limit: number } | undefined
  /** Seconds of operating time used per method in the current 10-minute window. */
  readonly operatingTime?:
    | ReadonlyArray<{ readonly method: string; readonly usedSeconds: number; readonly limitSeconds: number }>
    | undefined
  readonly breaker?: BreakerState | undefined
  readonly token?: TokenHealth | undefined
}
