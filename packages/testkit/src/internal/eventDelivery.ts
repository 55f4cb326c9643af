/**
 * An event as a portal POSTs it to a handler: `application/x-www-form-urlencoded` with bracketed
 * keys, as PHP's `http_build_query` writes them. The token fields are present only for an event
 * raised by a user.
 */
import * as Qs from "qs"

export interface EventAuth {
  readonly domain: string
  readonly clientEndpoint: string
  readonly serverEndpoint: string
  readonly memberId: string
  readonly applicationToken: string
  readonly scope: string
  readonly user?: {
    readonly accessToken: string
    readonly refreshToken: string
    readonly expiresAt: number
    readonly expiresIn: number
    readonly userId: number
  }
}

export const eventBody = (options: {
  readonly event: string
  readonly handlerId: number
  readonly id: string
  readonly now: number
  readonly auth: EventAuth
}): string => {
  const { auth } = options
  const tokens =
    auth.user === undefined
      ? {}
      : {
          access_token: auth.user.accessToken,
          expires: String(Math.floor(auth.user.expiresAt / 1000)),
          expires_in: String(auth.user.expiresIn)
        }
  return Qs.stringify({
    event: options.event,
    event_handler_id: String(options.handlerId),
    data: { FIELDS: { ID: options.id } },
    ts: String(Math.floor(options.now / 1000)),
    auth: {
      ...tokens,
      scope: auth.scope,
      domain: auth.domain,
      server_endpoint: auth.serverEndpoint,
      status: "L",
      client_endpoint: auth.clientEndpoint,
      member_id: auth.memberId,
      ...(auth.user === undefined ? {} : { user_id: String(auth.user.userId), refresh_token: auth.user.refreshToken }),
      application_token: auth.applicationToken
    }
  })
}

/**
 * POSTs one event, once: a failure or a slow handler is not retried, as on a real portal.
 * Resolves to whether the handler answered with a 2xx in time.
 */
export const postEvent = async (url: string, body: string, timeoutMs: number): Promise<boolean> => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Bitrix24 Webhook Engine" },
      body,
      signal: AbortSignal.timeout(timeoutMs)
    })
    await response.arrayBuffer().catch(() => undefined)
    return response.ok
  } catch {
    return false
  }
}
