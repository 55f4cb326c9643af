/**
 * Bitrix24 applications and their OAuth 2.0 grants, as `oauth.bitrix.info` serves them: an app
 * (`client_id`, `client_secret`, scopes) is installed on a portal by a user, which gives an access
 * token (an hour by default), a refresh token (180 days, replaced by a new one at every refresh)
 * and the installation's `application_token` that authenticates the portal's events.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category schemas
 */
export const OAuthAppOptions = Schema.Struct({
  clientId: Schema.optional(Schema.String),
  clientSecret: Schema.optional(Schema.String),
  scopes: Schema.optional(Schema.Array(Schema.String)),
  /** Access-token lifetime in seconds (3600). */
  accessTokenLifetimeSeconds: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** Refresh-token lifetime in seconds (180 days). */
  refreshTokenLifetimeSeconds: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** Whether a refresh replaces the refresh token (Bitrix24 does). Default true. */
  rotateRefreshTokens: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface OAuthApp {
  readonly clientId: string
  readonly clientSecret: string
  readonly scopes: ReadonlyArray<string>
  readonly accessTokenLifetimeSeconds: number
  readonly refreshTokenLifetimeSeconds: number
  readonly rotateRefreshTokens: boolean
}

/**
 * A refresh token: it can be spent once (with rotation) for a new pair of tokens.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefreshToken {
  readonly token: string
  readonly clientId: string
  readonly portalId: string
  readonly userId: number
  readonly expiresAt: number
}

/**
 * What an installation hands the application (the `ONAPPINSTALL` payload and the first tokens).
 *
 * @since 0.1.0
 * @category models
 */
export interface Installation {
  readonly clientId: string
  readonly portalId: string
  readonly userId: number
  readonly applicationToken: string
  readonly memberId: string
  readonly domain: string
  readonly clientEndpoint: string
  readonly accessToken: string
  readonly refreshToken: string
  readonly expiresIn: number
}
