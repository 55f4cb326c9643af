import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import * as EntryBody from "../src/internal/entryBody.js"
import { OutboxEntry } from "../src/OutboxEntry.js"

const bySchema = Schema.encodeSync(Schema.parseJson(OutboxEntry))

/** The body, or the fact that it could not be encoded. */
const attempt = (encode: (entry: OutboxEntry) => string, entry: OutboxEntry) => {
  try {
    return encode(entry)
  } catch {
    return "refused"
  }
}

/** The fields every entry has. */
const requiredKeys = [
  "id",
  "idempotencyKey",
  "portal",
  "message",
  "policy",
  "state",
  "attempts",
  "generation",
  "createdAt",
  "updatedAt",
  "version"
] as const

/** Entries as `enqueue` makes them for a text message. */
const newTextEntry = fc.record(
  {
    id: fc.string(),
    idempotencyKey: fc.string({ unit: "binary" }),
    portal: fc.string(),
    message: fc.record({
      lineCode: fc.string(),
      userId: fc.integer(),
      message: fc.string({ unit: "grapheme" })
    }),
    policy: fc.constantFrom("reject", "defer", "digest", "replace"),
    state: fc.constant("queued"),
    notBefore: fc.integer(),
    attempts: fc.constant(0),
    generation: fc.constant(0),
    createdAt: fc.nat(),
    updatedAt: fc.nat(),
    version: fc.constant(0)
  },
  { requiredKeys: [...requiredKeys] }
)

describe("an entry's stored body", () => {
  it("is the schema's JSON, byte for byte, for a new text entry", () => {
    fc.assert(
      fc.property(newTextEntry, (value) => {
        const typed = value as unknown as OutboxEntry
        expect(EntryBody.encode(typed)).toBe(bySchema(typed))
      }),
      { numRuns: 2_000 }
    )
  })

  it("is the schema's JSON, or refused as the schema refuses it, for anything else", () => {
    const anything = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(undefined), fc.constant(null))
    const message = fc.record(
      {
        lineCode: fc.oneof({ weight: 4, arbitrary: fc.string() }, fc.constant("a\uD800"), anything),
        userId: fc.oneof({ weight: 4, arbitrary: fc.integer() }, fc.constantFrom(1.5, "7"), anything),
        message: fc.oneof({ weight: 4, arbitrary: fc.string() }, fc.constant("b\uDC00"), anything),
        attachment: fc.constantFrom([{ MESSAGE: "hi" }], undefined),
        urlPreview: fc.boolean()
      },
      { requiredKeys: ["lineCode", "userId", "message"] }
    )
    const entry = fc.record(
      {
        id: fc.oneof({ weight: 4, arbitrary: fc.string() }, anything),
        idempotencyKey: fc.string(),
        portal: fc.string(),
        message,
        policy: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("reject", "defer", "digest", "replace") }, anything),
        state: fc.oneof({ weight: 4, arbitrary: fc.constant("queued") }, fc.constantFrom("sending", "sent", "dead")),
        notBefore: fc.oneof(fc.integer(), fc.constant(undefined)),
        attempts: fc.oneof({ weight: 4, arbitrary: fc.nat() }, anything),
        generation: fc.nat(),
        createdAt: fc.nat(),
        updatedAt: fc.oneof(fc.nat(), fc.double()),
        version: fc.nat(),
        settlement: fc.constantFrom("sent", "merged"),
        lastError: fc.constant({ tag: "X", code: "X", errorClass: "permanent", message: "no" }),
        uncertain: fc.boolean()
      },
      { requiredKeys: [...requiredKeys] }
    )
    fc.assert(
      fc.property(entry, (value) => {
        const typed = value as unknown as OutboxEntry
        expect(attempt(EntryBody.encode, typed)).toBe(attempt(bySchema, typed))
      }),
      { numRuns: 3_000 }
    )
  })

  it("reads back as the entry it was made from", () => {
    const entry: OutboxEntry = {
      id: "id-1",
      idempotencyKey: "key-1",
      portal: "default",
      message: { lineCode: "x".repeat(32), userId: 7, message: "[b]hi[/b] \u2014 \uD83D\uDE00" },
      policy: "defer",
      state: "queued",
      attempts: 0,
      generation: 0,
      createdAt: 1,
      updatedAt: 1,
      version: 0
    }
    expect(Schema.decodeSync(Schema.parseJson(OutboxEntry))(EntryBody.encode(entry))).toEqual(entry)
  })
})
