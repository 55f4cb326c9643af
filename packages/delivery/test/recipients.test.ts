import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { entityId } from "../src/RecipientEntity.js"
import { RecipientLedger } from "../src/RecipientLedger.js"
import { WeeklyLedger } from "../src/WeeklyLedger.js"
import { deliverySuite, freshDatabase, startDelivery, windowSeconds } from "./harness.js"

const suite = deliverySuite()

describe("the recipient entity", () => {
  it("keys each recipient apart, even when its parts hold the separator", () => {
    const a = entityId({ portal: "a/b", lineCode: "c", userId: 1 })
    const b = entityId({ portal: "a", lineCode: "b/c", userId: 1 })
    expect(a).not.toBe(b)
  })

  it("holds a recipient's window: one claim at a time, closed by a send, kept in the ledger", async () => {
    suite.runtime = startDelivery(suite.emulator, await freshDatabase("postgres"))
    const recipient = { portal: "a/b", lineCode: "line", userId: 42 }
    const now = Date.now()
    const outcome = await suite.runtime.runPromise(
      Effect.gen(function* () {
        const recipients = yield* RecipientLedger
        const ledger = yield* WeeklyLedger
        const first = yield* recipients.claim(recipient, "first", now)
        const second = yield* recipients.claim(recipient, "second", now)
        yield* recipients.record(recipient, now)
        const third = yield* recipients.claim(recipient, "third", now + 1)
        return { first, second, third, stored: yield* ledger.lastSent(recipient) }
      })
    )
    expect(outcome.first).toEqual({ _tag: "Granted" })
    expect(outcome.second).toEqual({ _tag: "Held", by: "first" })
    expect(outcome.third).toEqual({ _tag: "Blocked", until: now + windowSeconds * 1000 })
    // What the entity did is in the database: it outlives the entity and moves with it.
    expect(outcome.stored).toBe(now)
  })
})
