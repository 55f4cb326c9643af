import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { entityId } from "../src/RecipientEntity.js"
import { layerLocal, RecipientLedger } from "../src/RecipientLedger.js"
import { WeeklyLedger } from "../src/WeeklyLedger.js"
import { deliverySuite, freePort, freshDatabase, startDelivery, windowSeconds } from "./harness.js"

const suite = deliverySuite()

describe("the recipient entity", () => {
  it("keys each recipient apart, even when its parts hold the separator", () => {
    const a = entityId({ portal: "a/b", lineCode: "c", userId: 1 })
    const b = entityId({ portal: "a", lineCode: "b/c", userId: 1 })
    expect(a).not.toBe(b)
  })

  // A single runner serves a recipient's requests in the process (`layerLocal`); several, through the entity.
  for (const through of ["the process", "the entity"] as const) {
    it(`holds a recipient's window through ${through}: one claim at a time, closed by a send, kept in the ledger`, async () => {
      const runner = through === "the entity" ? { host: "127.0.0.1", port: await freePort() } : undefined
      suite.runtime = startDelivery(suite.emulator, await freshDatabase("postgres"), { runner })
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
      // What was done is in the database: it outlives the entity and moves with it.
      expect(outcome.stored).toBe(now)
    })
  }

  for (const kind of ["sqlite", "postgres"] as const) {
    it(`reads many recipients' windows at once as it reads them one by one (${kind})`, async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind), { ledger: { exemptPortals: ["nfr"] } })
      const now = Date.now()
      const sent = { portal: "p", lineCode: "line", userId: 1 }
      const refused = { portal: "p", lineCode: "line", userId: 2 }
      const never = { portal: "p", lineCode: "line", userId: 3 }
      const otherLine = { portal: "p", lineCode: "other", userId: 1 }
      const exempt = { portal: "nfr", lineCode: "line", userId: 1 }
      const longAgo = { portal: "p", lineCode: "line", userId: 4 }
      const asked = [sent, refused, never, otherLine, exempt, longAgo, sent]
      const { many, single } = await suite.runtime.runPromise(
        Effect.gen(function* () {
          const ledger = yield* WeeklyLedger
          yield* ledger.record(sent, now)
          yield* ledger.learn(refused, now)
          yield* ledger.record(exempt, now)
          yield* ledger.record(longAgo, now - 10 * windowSeconds * 1000)
          const many = yield* ledger.nextAllowedAtMany(asked, now)
          const single = yield* Effect.forEach(asked, (recipient) => ledger.nextAllowedAt(recipient, now))
          // More recipients than one statement reads: the one written to is found past the first statement's.
          const crowd = Array.from({ length: 250 }, (_, index) => ({
            portal: "p",
            lineCode: "line",
            userId: 100 + index
          }))
          const past = yield* ledger.nextAllowedAtMany([...crowd, sent], now)
          expect(past.slice(0, 250).every((opens) => opens === undefined)).toBe(true)
          expect(past[250]).toBe(single[0])
          return { many, single }
        })
      )
      expect(many).toEqual(single)
      // The closed windows are those of the two recipients written to (or refused) lately, on the line they were.
      expect(many.map((opens) => opens !== undefined)).toEqual([true, true, false, false, false, false, true])
    })
  }

  it("serves one recipient's requests in the process one at a time, in order, and another's beside them", () =>
    Effect.gen(function* () {
      const order: Array<string> = []
      const ledger = WeeklyLedger.of({
        options: { windowMs: 1_000, probeAfterMs: 1_000, exemptPortals: [] },
        nextAllowedAt: () => Effect.succeed(undefined),
        nextAllowedAtMany: (recipients) => Effect.succeed(recipients.map(() => undefined)),
        claim: (recipient, entryId) =>
          Effect.gen(function* () {
            order.push(`${recipient.userId} ${entryId} in`)
            // Another fiber would run here if nothing held it back.
            yield* Effect.sleep("10 millis")
            order.push(`${recipient.userId} ${entryId} out`)
            return { _tag: "Granted" } as const
          }),
        record: () => Effect.void,
        learn: () => Effect.succeed(0),
        release: () => Effect.void,
        lastSent: () => Effect.succeed(undefined)
      })
      const one = { portal: "p", lineCode: "line", userId: 1 }
      const two = { portal: "p", lineCode: "line", userId: 2 }
      yield* Effect.gen(function* () {
        const recipients = yield* RecipientLedger
        yield* Effect.all(
          [recipients.claim(one, "a", 0), recipients.claim(one, "b", 0), recipients.claim(two, "c", 0)],
          { concurrency: "unbounded", discard: true }
        )
      }).pipe(Effect.provide(layerLocal), Effect.provideService(WeeklyLedger, ledger))
      // One's two claims one after the other, in the order asked; two's beside the first.
      expect(order.filter((line) => line.startsWith("1 "))).toEqual(["1 a in", "1 a out", "1 b in", "1 b out"])
      expect(order.indexOf("2 c in")).toBeLessThan(order.indexOf("1 a out"))
    }).pipe(Effect.runPromise))
})
