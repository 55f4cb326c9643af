/**
 * The token endpoint of `oauth.bitrix.info` (`/oauth/token/`), served by the emulator: the
 * `refresh_token` grant with rotation, and the error answers an OAuth client must handle.
 */
import type { Emulator } from "../Emulator.js"
import type { PhpValue } from "./php.js"

export interface OAuthAnswer {
  readonly status: number
  readonly body: Record<string, unknown>
}

const failure = (status: number, error: string, description: string): OAuthAnswer => ({
  status,
  body: { error, error_description: description }
})

export const handleOAuthToken = (emulator: Emulator, params: Readonly<Record<string, PhpValue>>): OAuthAnswer => {
  const text = (key: string) => (typeof params[key] === "string" ? (params[key] as string) : undefined)
  const grantType = text("grant_type")
  const clientId = text("client_id")
  const clientSecret = text("client_secret")
  const refreshToken = text("refresh_token")
  if (grantType !== "refresh_token") return failure(400, "invalid_request", "Unsupported or missing grant_type")
  if (clientId === undefined || clientSecret === undefined || refreshToken === undefined) {
    return failure(400, "invalid_request", "client_id, client_secret and refresh_token are required")
  }
  const app = emulator.app(clientId)
  if (app === undefined || app.clientSecret !== clientSecret) return failure(401, "invalid_client", "Invalid client")
  const now = emulator.clock.now()
  for (const portal of emulator.portals()) {
    const stored = portal.refreshTokens.get(refreshToken)
    if (stored === undefined || stored.clientId !== clientId) continue
    if (stored.expiresAt <= now) break
    if (app.rotateRefreshTokens) portal.refreshTokens.delete(refreshToken)
    const { access, refresh } = portal.grant(app, stored.userId, now)
    if (!app.rotateRefreshTokens) portal.refreshTokens.delete(refresh.token)
    const restUrl = emulator.info(portal.id).restUrl
    return {
      status: 200,
      body: {
        access_token: access.token,
        expires: Math.floor(access.expiresAt / 1000),
        expires_in: app.accessTokenLifetimeSeconds,
        scope: app.scopes.join(","),
        domain: "oauth.bitrix.info",
        server_endpoint: `${emulator.url}/rest/`,
        status: "L",
        client_endpoint: restUrl,
        member_id: portal.memberId,
        user_id: stored.userId,
        refresh_token: app.rotateRefreshTokens ? refresh.token : refreshToken
      }
    }
  }
  return failure(400, "invalid_grant", "Invalid refresh token")
}
