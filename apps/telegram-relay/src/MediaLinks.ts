/**
 * Signed, expiring links to media that a Telegram user sent. Telegram's own file URLs hold the bot
 * token, so they never leave the process: Bitrix24 gets a link to the relay, which checks the
 * signature and the expiry and fetches the bytes from Telegram itself.
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"

/**
 * What a link points at.
 *
 * @since 0.1.0
 * @category models
 */
export interface MediaTarget {
  readonly fileId: string
  /** Unix ms after which the link is refused. */
  readonly expiresAt: number
  readonly name: string
  readonly mimeType?: string | undefined
}

const sign = (secret: Redacted.Redacted<string>, payload: string) =>
  createHmac("sha256", Redacted.value(secret)).update(payload).digest("base64url")

/**
 * The link for a file: `<publicUrl>/media/<payload>.<signature>/<name>`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (publicUrl: string, secret: Redacted.Redacted<string>, target: MediaTarget): string => {
  const payload = Buffer.from(
    JSON.stringify({ f: target.fileId, e: target.expiresAt, n: target.name, m: target.mimeType })
  ).toString("base64url")
  const safeName = encodeURIComponent(target.name.replace(/[/\\]/g, "_")) || "file"
  return `${publicUrl.replace(/\/$/, "")}/media/${payload}.${sign(secret, payload)}/${safeName}`
}

/**
 * Reads a link's path (`/media/<payload>.<signature>/<name>`).
 *
 * @since 0.1.0
 * @category destructors
 */
export const verify = (
  secret: Redacted.Redacted<string>,
  path: string,
  now: number
):
  | { readonly _tag: "Valid"; readonly target: MediaTarget }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Expired" } => {
  const match = /^\/media\/([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)(?:\/[^/]*)?$/.exec(path)
  if (match === null) return { _tag: "Invalid" }
  const expected = Buffer.from(sign(secret, match[1]!))
  const given = Buffer.from(match[2]!)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { _tag: "Invalid" }
  try {
    const decoded = JSON.parse(Buffer.from(match[1]!, "base64url").toString()) as {
      f: string
      e: number
      n: string
      m?: string
    }
    if (decoded.e <= now) return { _tag: "Expired" }
    return { _tag: "Valid", target: { fileId: decoded.f, expiresAt: decoded.e, name: decoded.n, mimeType: decoded.m } }
  } catch {
    return { _tag: "Invalid" }
  }
}
