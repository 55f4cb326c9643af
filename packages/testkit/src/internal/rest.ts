/**
 * One REST call through the portal, in the server's order: the leaky bucket at the front, the
 * method lookup (an unknown method is a 404 before any auth), authentication with its scope
 * check, the operating-time limit, then the method. Errors carry no `time`; successes do.
 */
import type { Portal } from "../Portal.js"
import type { Auth, Method, Outcome, Params } from "./methods/method.js"
import { Paged } from "./methods/method.js"
import { methods } from "./methods/registry.js"
import type { PhpValue } from "./php.js"
import { PhpTypeError, stringOf } from "./php.js"
import { RestError, systemErrors } from "./restError.js"
import { makeTimeInfo } from "./timeInfo.js"

/** Who the request says it is, read from the URL, the parameters and the cookies. */
export type Credentials =
  | { readonly kind: "webhook"; readonly userId: string; readonly code: string }
  | { readonly kind: "request" }

export interface RestRequest {
  readonly portal: Portal
  /** The method as it appears in the URL, suffix included (`profile.json`). */
  readonly method: string
  readonly credentials: Credentials
  readonly params: Readonly<Record<string, PhpValue>>
  readonly cookie: string | undefined
  readonly authorization: string | undefined
  /** Whether the request came over HTTPS. */
  readonly https: boolean
  readonly now: number
  readonly random: () => number
}

export interface RestResponse {
  readonly status: number
  readonly body: unknown
}

/** The method name without a `.json`/`.xml` suffix, lower-cased as the server looks it up. */
export const methodName = (raw: string): string => {
  const lower = raw.toLowerCase()
  const point = lower.lastIndexOf(".")
  if (point > 0 && ["json", "xml"].includes(lower.slice(point + 1))) return lower.slice(0, point)
  return lower
}

const authenticate = (request: RestRequest, scope: string): Auth => {
  const { portal, credentials, params, now } = request
  const needs = (scopes: ReadonlyArray<string>) => scope === "_global" || scopes.includes(scope)
  if (credentials.kind === "webhook") {
    if (portal.switches.httpsRequired && !request.https) throw systemErrors.httpsRequired()
    const webhook = portal.webhooks.get(credentials.code)
    if (webhook === undefined || String(webhook.userId) !== credentials.userId) throw systemErrors.invalidCredentials()
    if (!needs(webhook.scopes)) throw systemErrors.insufficientScopeWebhook()
    if (portal.switches.overloaded) throw systemErrors.overloaded()
    if (portal.switches.restUnavailable) throw systemErrors.restUnavailable()
    return { type: "webhook", userId: webhook.userId, credential: `webhook:${webhook.id}`, scopes: webhook.scopes }
  }
  const bearer = request.authorization?.match(/^Bearer\s+(.+)$/i)?.[1]
  const tokenValue = bearer ?? params.auth ?? params.access_token
  if (tokenValue !== undefined && tokenValue !== null && typeof tokenValue !== "object") {
    const token = portal.tokens.get(stringOf(tokenValue))
    if (token === undefined) throw systemErrors.invalidToken()
    if (portal.switches.overloaded) throw systemErrors.overloaded()
    if (portal.switches.restUnavailable) throw systemErrors.restUnavailable()
    if (token.expiresAt <= now) throw systemErrors.expiredToken()
    if (!needs(token.scopes)) throw systemErrors.insufficientScopeToken()
    if (portal.switches.userAccessDenied) throw systemErrors.userAccessDenied()
    return { type: "oauth", userId: token.userId, credential: `app:${token.clientId}`, scopes: token.scopes }
  }
  const sessid = params.sessid
  if (typeof sessid === "string") {
    const session = portal.sessions.get(sessid)
    if (session !== undefined && request.cookie?.includes(session.cookie)) {
      return { type: "session", userId: session.userId }
    }
  }
  throw systemErrors.noAuth()
}

/** The server's error for anything a method threw: its own `RestError`, or an internal error where PHP would fatal. */
const toRestError = (cause: unknown): RestError => {
  if (cause instanceof RestError) return cause
  if (cause instanceof PhpTypeError) return systemErrors.internal()
  throw cause
}

/** Runs a found method for an authenticated caller: the operating-time limit, the method, its `time`. */
const execute = (
  portal: Portal,
  auth: Auth,
  name: string,
  method: Method,
  params: Params,
  now: number,
  random: () => number
) => {
  const limited = auth.type !== "session" && name !== "batch"
  const operatingKey = auth.type === "session" ? "" : `${auth.credential}|${name}`
  if (limited && portal.operating.blocked(operatingKey, now)) throw systemErrors.operationTimeLimit()
  portal.counters.calls[name] = (portal.counters.calls[name] ?? 0) + 1
  const invoke = (subName: string, subParams: Params): Outcome => {
    try {
      // Inside batch, auth carries over and only the scope is checked again.
      const lower = subName.toLowerCase()
      const subMethod = methods.get(lower)
      if (subMethod === undefined) throw systemErrors.methodNotFound()
      if (auth.type !== "session" && subMethod.scope !== "_global" && !auth.scopes.includes(subMethod.scope)) {
        throw new RestError("insufficient_scope", "", 401)
      }
      return execute(portal, auth, lower, subMethod, subParams, now, random)
    } catch (cause) {
      const error = toRestError(cause)
      portal.countRejection(error.code)
      return { error }
    }
  }
  const value = method.run({ portal, auth, params, now, random, invoke })
  const cost = limited ? portal.operating.charge(operatingKey, name, now) : 0
  const operating = limited ? portal.operating.usage(operatingKey, now) : undefined
  const time = makeTimeInfo({
    startMs: now,
    durationSeconds: cost,
    utcOffsetMinutes: portal.utcOffsetMinutes,
    operating
  })
  if (!(value instanceof Paged)) return { result: value, time }
  return { result: value.items, ...(value.next === undefined ? {} : { next: value.next }), total: value.total, time }
}

const call = (request: RestRequest): RestResponse => {
  if (request.portal.switches.deleted) throw systemErrors.portalDeleted()
  const name = methodName(request.method)
  const method = methods.get(name)
  if (method === undefined) throw systemErrors.methodNotFound()
  const auth = authenticate(request, method.scope)
  return { status: 200, body: execute(request.portal, auth, name, method, request.params, request.now, request.random) }
}

/** Answers one REST call; never throws. */
export const handleRest = (request: RestRequest): RestResponse => {
  const { portal } = request
  portal.counters.requests++
  if (!portal.bucket.take(request.now)) {
    portal.counters.bucketRejections++
    portal.countRejection("QUERY_LIMIT_EXCEEDED")
    const error = systemErrors.queryLimit()
    return { status: error.status, body: error.body() }
  }
  try {
    return call(request)
  } catch (cause) {
    const error = toRestError(cause)
    portal.countRejection(error.code)
    return { status: error.status, body: error.body() }
  }
}
