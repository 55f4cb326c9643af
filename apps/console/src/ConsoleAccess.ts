/**
 * Who may use the console: the credential (a token, sent as `Authorization: Bearer <token>` or as
 * the password of HTTP basic auth, whatever the user name) compared in constant time, and the guard
 * against cross-site requests on everything that changes state: the request must carry the
 * console's own header (which a cross-site form cannot set, and a cross-site `fetch` cannot send
 * without a preflight the console never grants), and its `Origin`, when present, must be the
 * console's own.
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"

/**
 * The header every state-changing request of the page carries.
 *
 * @since 0.1.0
 * @category constants
 */
export const requestHeader = "x-linecast-console"

/**
 * @since 0.1.0
 * @category models
 */
export type AccessDecision =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "Unauthorized"; readonly message: string }
  | { readonly _tag: "Forbidden"; readonly message: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface AccessRequest {
  readonly method: string
  readonly headers: Readonly<Record<string, string | undefined>>
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest()

/** Equal digests of equal length: the comparison takes the same time whatever the guess. */
const matches = (candidate: string, credential: Redacted.Redacted<string>) =>
  timingSafeEqual(digest(candidate), digest(Redacted.value(credential)))

const presented = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined
  const [scheme, value] = authorization.trim().split(/\s+/, 2)
  if (value === undefined) return undefined
  if (scheme?.toLowerCase() === "bearer") return value
  if (scheme?.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    return colon < 0 ? undefined : decoded.slice(colon + 1)
  }
  return undefined
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"])

/**
 * Decides on one request. Without a configured credential (demo mode only) every request is
 * authenticated; the cross-site guard applies all the same.
 *
 * @since 0.1.0
 * @category access
 */
export const decide = (request: AccessRequest, credential: Redacted.Redacted<string> | undefined): AccessDecision => {
  if (credential !== undefined) {
    const candidate = presented(request.headers.authorization)
    if (candidate === undefined) {
      return { _tag: "Unauthorized", message: "The console needs its credential (LINECAST_CONSOLE_TOKEN)." }
    }
    if (!matches(candidate, credential)) {
      return { _tag: "Unauthorized", message: "The credential was refused: it is wrong or was changed since." }
    }
  }
  if (safeMethods.has(request.method.toUpperCase())) return { _tag: "Allowed" }
  if (request.headers[requestHeader] !== "1") {
    return {
      _tag: "Forbidden",
      message: `A state-changing request must carry the ${requestHeader} header: cross-site requests are refused.`
    }
  }
  const origin = request.headers.origin
  const host = request.headers.host
  if (origin !== undefined && origin !== "null" && host !== undefined) {
    const sameOrigin = (() => {
      try {
        return new URL(origin).host === host
      } catch {
        return false
      }
    })()
    if (!sameOrigin) return { _tag: "Forbidden", message: `Requests from ${origin} are refused: cross-site.` }
  } else if (origin === "null") {
    return { _tag: "Forbidden", message: "Requests from an opaque origin are refused." }
  }
  return { _tag: "Allowed" }
}
