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

export const readBody = (incoming: IncomingMessage, maxBytes: number): Effect.Effect<Body> =>
  Effect.async<Body>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    const finish = (body: Body) => {
      if (done) return
      done = true
      resume(Effect.succeed(body))
    }
    incoming.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) chunks.push(chunk)
      else if (size > maxBytes * 4 + 1024 * 1024) {
        incoming.destroy()
        finish({ _tag: "TooLarge" })
      }
    })
    incoming.on("end", () =>
      finish(size > maxBytes ? { _tag: "TooLarge" } : { _tag: "Read", text: Buffer.concat(chunks).toString("utf8") })
    )
    incoming.on("error", () => finish({ _tag: "Broken" }))
    incoming.on("close", () => finish({ _tag: "Broken" }))
  })
