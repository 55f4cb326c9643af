import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import * as NetworkMessage from "../src/NetworkMessage.js"

// The schema's own encoding, as toWireEither gave it before text messages took a shorter way.
const bySchema = (message: NetworkMessage.NetworkMessage) => {
  const encoded = Schema.encodeEither(NetworkMessage.NetworkMessage)(message)
  return Either.isRight(encoded) ? { wire: encoded.right, keys: Object.keys(encoded.right) } : "refused"
}

const ofWire = (message: NetworkMessage.NetworkMessage) => {
  const wire = NetworkMessage.toWireEither(message)
  return Either.isRight(wire) ? { wire: wire.right, keys: Object.keys(wire.right) } : "refused"
}

describe("a text message on the wire", () => {
  it("is what the schema makes of it, key for key, for any fields of any type", () => {
    const loneSurrogates = fc.constantFrom("\uD800", "a\uDC00b", "ok")
    const anything = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(undefined), fc.constant(null))
    fc.assert(
      fc.property(
        fc.record(
          {
            lineCode: fc.oneof(fc.string(), loneSurrogates, anything),
            userId: fc.oneof(fc.integer(), fc.constantFrom(-0, 1.5, Number.NaN, 2 ** 60, "7"), anything),
            message: fc.oneof(fc.string(), loneSurrogates, anything),
            extra: anything
          },
          { requiredKeys: ["lineCode", "userId", "message"] }
        ),
        (message) => {
          const typed = message as unknown as NetworkMessage.NetworkMessage
          const wire = ofWire(typed)
          const schema = bySchema(typed)
          // Lone surrogates are refused after the schema (toWireEither's own rule): only the rest must agree.
          if (wire === "refused") {
            if (schema !== "refused") expect(JSON.stringify(schema.wire)).toMatch(/\\ud[89a-f]/i)
          } else {
            expect(wire).toEqual(schema)
          }
          // What the schema refuses is refused.
          if (schema === "refused") expect(wire).toBe("refused")
        }
      ),
      { numRuns: 2_000 }
    )
  })

  it("refuses a field of the wrong type, and a lone surrogate in the text", () => {
    for (const message of [
      { lineCode: "x".repeat(32), userId: 1.5, message: "hi" },
      { lineCode: 5, userId: 1, message: "hi" },
      { lineCode: "x".repeat(32), userId: 1, message: null }
    ]) {
      const wire = NetworkMessage.toWireEither(message as unknown as NetworkMessage.NetworkMessage)
      expect(Either.isLeft(wire) && wire.left._tag).toBe("InvalidMessageError")
    }
    const lone = NetworkMessage.toWireEither({ lineCode: "x".repeat(32), userId: 1, message: "a\uD800" })
    expect(Either.isLeft(lone) && lone.left.field).toBe("MESSAGE")
  })
})
