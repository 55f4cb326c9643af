/**
 * The operator console as one HTTP app, served under `/console/`: the page (built from
 * `apps/console/web`), and its JSON API under `/console/api/`. Every request needs the credential
 * when one is configured; every state-changing one must come from the page itself; no configured
 * secret ever leaves in a response.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Outbox } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as ConsoleAccess from "./ConsoleAccess.js"
import * as ConsoleApi from "./ConsoleApi.js"
import * as ConsoleAssets from "./ConsoleAssets.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ConsoleOptions extends Omit<ConsoleApi.ApiOptions, "protected"> {
  /** Required outside demo mode (the CLI refuses to start the console without it). */
  readonly credential?: Redacted.Redacted<string> | undefined
  /** Values never to send, whatever a message or an error holds (webhook URLs, tokens). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  readonly assets?: ConsoleAssets.AssetOptions | undefined
}

/**
 * Where the console is served.
 *
 * @since 0.1.0
 * @category constants
 */
export const basePath = "/console"

const maxBodyBytes = 64 * 1024

const securityHeaders = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

/**
 * Builds the app; the page's assets start building (when their sources changed) at once, in the
 * background, and requests for the page wait for them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ConsoleOptions
): Effect.Effect<HttpApp.Default<never, Outbox.Outbox>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const assets = yield* Effect.cached(ConsoleAssets.load(options.assets))
    yield* Effect.forkScoped(Effect.ignore(assets))
    const apiOptions: ConsoleApi.ApiOptions = { ...options, protected: options.credential !== undefined }
    const secrets = (options.secrets ?? []).map(Redacted.value).filter((secret) => secret.length >= 6)
    const scrub = (text: string) => secrets.reduce((clean, secret) => clean.split(secret).join("[redacted]"), text)

    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      HttpServerResponse.text(scrub(JSON.stringify(body)), {
        status,
        contentType: "application/json; charset=utf-8",
        headers: { ...securityHeaders, ...headers }
      })

    const readBody = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function* () {
        if (request.method === "GET" || request.method === "HEAD") return { ok: true as const, body: undefined }
        if (Number(request.headers["content-length"] ?? 0) > maxBodyBytes) {
          return { ok: false as const, message: `The body is larger than ${maxBodyBytes} bytes.` }
        }
        const text = yield* Effect.orElseSucceed(request.text, () => "")
        if (text.trim() === "") return { ok: true as const, body: undefined }
        try {
          return { ok: true as const, body: JSON.parse(text) as unknown }
        } catch {
          return { ok: false as const, message: "The body is not valid JSON." }
        }
      })

    return Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = new URL(request.url, "http://console.invalid")
      const path = url.pathname
      if (path !== basePath && !path.startsWith(`${basePath}/`)) {
        return json(404, { error: "not-found", message: `The console is under ${basePath}/.` })
      }
      const api = path.startsWith(`${basePath}/api/`)
      const access = ConsoleAccess.decide(request, options.credential)
      if (access._tag === "Unauthorized") {
        // The page's own requests get no challenge: it shows the message and how to sign in again,
        // where a challenge would pop the browser's dialog in the middle of a poll.
        const fromPage = request.headers[ConsoleAccess.requestHeader] === "1"
        return json(
          401,
          { error: "unauthorized", message: access.message },
          fromPage ? {} : { "www-authenticate": 'Basic realm="Linecast console", charset="UTF-8"' }
        )
      }
      if (access._tag === "Forbidden") return json(403, { error: "forbidden", message: access.message })
      if (path === basePath) {
        return HttpServerResponse.empty({ status: 302, headers: { location: `${basePath}/`, ...securityHeaders } })
      }
      if (api) {
        const body = yield* readBody(request)
        if (!body.ok) return json(400, { error: "bad-body", message: body.message })
        const answer = yield* ConsoleApi.handle(apiOptions, {
          method: request.method,
          path: path.slice(`${basePath}/api/`.length),
          query: url.searchParams,
          body: body.body
        }).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.succeed({ status: 500, body: { error: "internal", message: String(defect) } })
          )
        )
        return json(answer.status, answer.body)
      }
      const built = yield* Effect.either(assets)
      if (built._tag === "Left") return json(500, { error: "assets", message: built.left.message })
      const file = path.slice(`${basePath}/`.length)
      // Client-side views (#/outbox...) all load the one page.
      const asset = built.right.read(file) ?? (file.includes(".") ? undefined : built.right.read("index.html"))
      if (asset === undefined) return json(404, { error: "not-found", message: `No file ${path}.` })
      return HttpServerResponse.uint8Array(asset.body, {
        contentType: asset.contentType,
        headers: {
          ...securityHeaders,
          "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache"
        }
      })
    })
  })
