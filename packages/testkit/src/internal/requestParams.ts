/**
 * Reads a request's parameters the way PHP fills `$_REQUEST` for the REST server: the query string
 * and the body (JSON, or form-urlencoded with nested brackets), the body winning on a clash.
 */
import type { IncomingMessage } from "node:http"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import type { PhpValue } from "./php.js"
import { isPhpArray, parseQuery } from "./php.js"

/** Why a body could not be read: the emulator's own answer, since a portal's is unknown. */
export class BadBody extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string
  ) {
    super(message)
  }

  body(): Record<string, string> {
    return {
      error: this.status === 413 ? "EMULATOR_BODY_TOO_LARGE" : "EMULATOR_BAD_REQUEST",
      error_description: this.message
    }
  }
}

/**
 * Reads the body, refusing it past `maxBodyBytes`. An oversized body is still drained (up to a
 * bound) so that the client reads the 413 instead of a reset connection.
 */
const readBody = (incoming: IncomingMessage, maxBodyBytes: number): Effect.Effect<string, BadBody> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    const finish = (result: Effect.Effect<string, BadBody>) => {
      if (done) return
      done = true
      resume(result)
    }
    const tooLarge = () => new BadBody(413, `Request body over ${maxBodyBytes} bytes`)
    incoming.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBodyBytes) chunks.push(chunk)
      else if (size > maxBodyBytes * 4 + 1024 * 1024) {
        incoming.destroy()
        finish(Effect.fail(tooLarge()))
      }
    })
    incoming.on("end", () =>
      finish(size > maxBodyBytes ? Effect.fail(tooLarge()) : Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    )
    incoming.on("error", () => finish(Effect.fail(new BadBody(400, "The request body could not be read"))))
    incoming.on("close", () => finish(Effect.fail(new BadBody(400, "The request body was cut short"))))
  })

export const readParams = (
  request: HttpServerRequest.HttpServerRequest,
  maxBodyBytes: number
): Effect.Effect<Record<string, PhpValue>, BadBody> =>
  Effect.gen(function* () {
    const queryIndex = request.url.indexOf("?")
    const query = queryIndex >= 0 ? parseQuery(request.url.slice(queryIndex + 1)) : {}
    if (request.method === "GET" || request.method === "HEAD") return query
    const text = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request), maxBodyBytes)
    const contentType = (request.headers["content-type"] ?? "").toLowerCase()
    if (contentType.includes("application/json")) {
      if (text.trim() === "") return query
      const parsed = yield* Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => new BadBody(400, "Malformed JSON body")
      })
      if (!isPhpArray(parsed) || Array.isArray(parsed)) {
        return yield* Effect.fail(new BadBody(400, "A JSON body must be an object of parameters"))
      }
      return { ...query, ...(parsed as Record<string, PhpValue>) }
    }
    return { ...query, ...parseQuery(text) }
  })
