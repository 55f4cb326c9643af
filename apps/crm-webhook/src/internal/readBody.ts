/**
 * Reads a request body up to a limit. An oversized body is drained (up to a bound) so the client
 * reads the 413 rather than a reset, and never buffered; a body cut short is reported as broken.
 */
import type { IncomingMessage } from "node:http"
import * as Effect from "effect/Effect"

export type Body =
  | { readonly _tag: "Read"; readonly text: string }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Broken" }

const broken: Body = { _tag: "Broken" }
const tooLarge: Body = { _tag: "TooLarge" }

/** Calls `done` once with the body (the node:http handler's form, no Effect per request). */
export const readBodyCallback = (incoming: IncomingMessage, maxBytes: number, done: (body: Body) => void): void => {
  const chunks: Array<Buffer> = []
  let size = 0
  let finished = false
  const finish = (body: Body) => {
    if (finished) return
    finished = true
    done(body)
  }
  incoming.on("data", (chunk: Buffer) => {
    size += chunk.length
    if (size <= maxBytes) chunks.push(chunk)
    else if (size > maxBytes * 4 + 1024 * 1024) {
      incoming.destroy()
      finish(tooLarge)
    }
  })
  incoming.on("end", () =>
    finish(
      size > maxBytes
        ? tooLarge
        : { _tag: "Read", text: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8") }
    )
  )
  incoming.on("error", () => finish(broken))
  incoming.on("close", () => finish(broken))
}

export const readBody = (incoming: IncomingMessage, maxBytes: number): Effect.Effect<Body> =>
  Effect.async<Body>((resume) => readBodyCallback(incoming, maxBytes, (body) => resume(Effect.succeed(body))))
