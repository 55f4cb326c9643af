/**
 * How core reaches a portal and proves who it is: an incoming webhook (the code held as `Redacted`,
 * never in a log, error or span) or an OAuth application (access token, refresh through the token
 * endpoint). Session auth does not exist here: the method refuses it. A secret is only ever sent to
 * an allowed host, over HTTPS except on loopback.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { OAuthTokens } from "./TokenStore.js"

/**
 * A portal address or credential core refuses before any request.
 *
 * @since 0.1.0
 * @category errors
 */
export class PortalAddressError extends Schema.TaggedError<PortalAddressError>()("PortalAddressError", {
  /** What is wrong, without the secret. */
  reason: Schema.String,
  host: Schema.optional(Schema.String)
}) {
  readonly errorClass = "permanent" as const
  override get message() {
    return `Invalid portal address${this.host === undefined ? "" : ` (${this.host})`}: ${this.reason}`
  }
}

/**
 * A failed renewal of an OAuth token (`invalid_grant`, `invalid_client`...).
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenRefreshError extends Schema.TaggedError<TokenRefreshError>()("TokenRefreshError", {
  code: Schema.String,
  description: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  readonly errorClass = "auth" as const
  override get message() {
    return `Token refresh failed: ${this.code}${this.status === undefined ? "" : ` (HTTP ${this.status})`}: ${this.description}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WebhookAuth {
  readonly _tag: "Webhook"
  /** The portal's host, the key of its rate budget and tokens. */
  readonly host: string
  /** Scheme, host and any path before `/rest/`: never secret. */
  readonly base: string
  readonly userId: string
  readonly code: Redacted.Redacted<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OAuthAuth {
  readonly _tag: "OAuth"
  readonly host: string
  /** The portal's REST endpoint, ending in `/rest/` (`client_endpoint`). */
  readonly restUrl: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** Default `https://oauth.bitrix.info/oauth/token/`. */
  readonly tokenUrl: string
  /** Tokens to start with when the `TokenStore` has none for this portal. */
  readonly initialTokens?: OAuthTokens | undefined
  /** Called after every renewal with the new tokens (for example, to persist them elsewhere). */
  readonly onRenew?: ((tokens: OAuthTokens) => Effect.Effect<void>) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type PortalAuth = WebhookAuth | OAuthAuth

/**
 * @since 0.1.0
 * @category models
 */
export interface AddressOptions {
  /** Hosts a secret may be sent to; when empty or missing, any host (still HTTPS except loopback). */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
}

const loopback = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

const checkUrl = (raw: string, options: AddressOptions, what: string): Effect.Effect<URL, PortalAddressError> =>
  Effect.suspend(() => {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return Effect.fail(new PortalAddressError({ reason: `${what} is not a URL` }))
    }
    const host = url.hostname.toLowerCase()
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback.has(host))) {
      return Effect.fail(
        new PortalAddressError({ reason: `${what} must use HTTPS (plain HTTP only on loopback)`, host })
      )
    }
    const allowed = options.allowedHosts ?? []
    if (allowed.length > 0 && !allowed.some((candidate) => candidate.toLowerCase() === host)) {
      return Effect.fail(new PortalAddressError({ reason: `${what} host is not in the allow-list`, host }))
    }
    if (url.username !== "" || url.password !== "") {
      return Effect.fail(new PortalAddressError({ reason: `${what} must not hold user info`, host }))
    }
    return Effect.succeed(url)
  })

const webhookPath = /^(.*)\/rest\/(\d+)\/([^/]+)\/?$/

/**
 * Reads an incoming-webhook URL `https://<portal>/rest/<userId>/<code>/`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const webhook = (
  url: string | Redacted.Redacted<string>,
  options: AddressOptions = {}
): Effect.Effect<WebhookAuth, PortalAddressError> =>
  Effect.gen(function* () {
    const parsed = yield* checkUrl(Redacted.isRedacted(url) ? Redacted.value(url) : url, options, "the webhook URL")
    const match = webhookPath.exec(parsed.pathname)
    if (match === null || parsed.search !== "") {
      return yield* new PortalAddressError({
        reason: "the webhook URL must look like https://<portal>/rest/<userId>/<code>/",
        host: parsed.hostname
      })
    }
    return {
      _tag: "Webhook" as const,
      host: parsed.host.toLowerCase(),
      base: `${parsed.origin}${match[1]}`,
      userId: match[2]!,
      code: Redacted.make(decodeURIComponent(match[3]!))
    }
  })

/**
 * An OAuth application's access to a portal.
 *
 * @since 0.1.0
 * @category constructors
 */
export const oauth = (
  options: {
    readonly restUrl: string
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    readonly tokenUrl?: string | undefined
    readonly initialTokens?: OAuthTokens | undefined
    readonly onRenew?: ((tokens: OAuthTokens) => Effect.Effect<void>) | undefined
  } & AddressOptions
): Effect.Effect<OAuthAuth, PortalAddressError> =>
  Effect.gen(function* () {
    const rest = yield* checkUrl(options.restUrl, options, "the REST URL")
    const tokenUrl = options.tokenUrl ?? "https://oauth.bitrix.info/oauth/token/"
    // The token endpoint is Bitrix24's own, not the portal: it is checked for HTTPS only.
    yield* checkUrl(tokenUrl, {}, "the token URL")
    return {
      _tag: "OAuth" as const,
      host: rest.host.toLowerCase(),
      restUrl: rest.href.endsWith("/") ? rest.href : `${rest.href}/`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      tokenUrl,
      initialTokens: options.initialTokens,
      onRenew: options.onRenew
    }
  })

/**
 * The secrets of an auth, to scrub from any text that leaves core.
 *
 * @since 0.1.0
 * @category redaction
 */
export const secretsOf = (auth: PortalAuth, tokens?: OAuthTokens): ReadonlyArray<string> =>
  auth._tag === "Webhook"
    ? [Redacted.value(auth.code)]
    : [
        Redacted.value(auth.clientSecret),
        ...(tokens === undefined ? [] : [Redacted.value(tokens.accessToken), Redacted.value(tokens.refreshToken)])
      ]

/**
 * Replaces every secret in a text with `***`.
 *
 * @since 0.1.0
 * @category redaction
 */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((out, secret) => (secret.length === 0 ? out : out.split(secret).join("***")), text)
