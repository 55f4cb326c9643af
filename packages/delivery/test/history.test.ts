import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EntryNotFoundError } from "../src/DeliveryError.js"
import { Outbox } from "../src/Outbox.js"
import * as OutboxStore from "../src/OutboxStore.js"
import type { Database } from "./harness.js"
import { deliverySuite, freshDatabase, startDelivery, waitFor, windowSeconds } from "./harness.js"

const suite = deliverySuite({
  started: (emulator) => emulator.control.configure("demo", { weeklyWindowSeconds: windowSeconds }),
  cleanUp: (emulator) => {
    emulator.control.reset()
    const line = emulator.control.portal("demo").lines.get(emulator.lineCode)
    if (line !== undefined) line.joined = true
  }
})

const outbox = <A, E>(use: (service: Outbox["Type"]) => Effect.Effect<A, E>) =>
  suite.runtime!.runPromise(Effect.flatMap(Outbox, use))

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`outbox history on ${kind}`, () => {
    it("records every save, from enqueue to the receipt", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const { entry } = await outbox((service) =>
        service.enqueue(
          { lineCode: suite.emulator.lineCode, userId: 2, message: "Deal won" },
          { idempotencyKey: "h-1", portal: "demo" }
        )
      )
      const sent = await waitFor(suite.runtime, entry.id, (current) => current.state === "sent")
      const history = await outbox((service) => service.history(entry.id))
      expect(history[0]).toMatchObject({ version: 0, state: "queued", attempts: 0 })
      expect(history.map((record) => record.version)).toEqual(history.map((_, index) => index))
      expect(history.at(-1)).toMatchObject({ version: sent.version, state: "sent", receipt: sent.receipt })
      expect(
        await outbox((service) => service.lastSentAt({ portal: "demo", lineCode: suite.emulator.lineCode, userId: 2 }))
      ).toBe(sent.receipt?.sentAt)
    })

    it("keeps the typed error of a dead letter and the replay after it; purge removes the history", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      suite.emulator.control.portal("demo").lines.get(suite.emulator.lineCode)!.joined = false
      const { entry } = await outbox((service) =>
        service.enqueue(
          { lineCode: suite.emulator.lineCode, userId: 3, message: "Lost line" },
          { idempotencyKey: "h-2", portal: "demo" }
        )
      )
      await waitFor(suite.runtime, entry.id, (current) => current.state === "dead")
      suite.emulator.control.portal("demo").lines.get(suite.emulator.lineCode)!.joined = true
      await outbox((service) => service.replay(entry.id))
      await waitFor(suite.runtime, entry.id, (current) => current.state === "sent")
      const history = await outbox((service) => service.history(entry.id))
      const states = history.map((record) => record.state)
      expect(states.indexOf("dead")).toBeGreaterThan(0)
      expect(states.at(-1)).toBe("sent")
      expect(history.find((record) => record.state === "dead")?.lastError?.code).toBe("NOT_FOUND")
      expect(history.find((record) => record.generation === 1)).toBeDefined()

      expect(await outbox((service) => service.purge({ ids: [entry.id] }))).toBe(1)
      const gone = await suite.runtime.runPromise(
        Effect.flip(Effect.flatMap(Outbox, (service) => service.history(entry.id)))
      )
      expect(gone).toBeInstanceOf(EntryNotFoundError)
    })

    it("makes a new entry's first record from its row, and keeps the written one of an entry stored otherwise", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const later = Date.now() + 60_000
      const { entry } = await outbox((service) =>
        service.enqueue(
          { lineCode: suite.emulator.lineCode, userId: 6, message: "Not yet" },
          { idempotencyKey: "h-3", portal: "demo", notBefore: later }
        )
      )
      const written = (id: string) =>
        suite.runtime!.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            Effect.map(
              sql<{
                total: number | string
              }>`SELECT COUNT(*) AS total FROM linecast_outbox_history WHERE entry_id = ${id}`,
              (rows) => Number(rows[0]?.total)
            )
          )
        )
      expect(await outbox((service) => service.history(entry.id))).toEqual([
        { version: 0, state: "queued", attempts: 0, generation: 0, at: entry.createdAt }
      ])
      expect(await written(entry.id)).toBe(0)

      // Stored already deferred (as an import might): its first record says so, and is written.
      const imported = {
        ...entry,
        id: `${entry.id}-imported`,
        idempotencyKey: "h-4",
        state: "deferred" as const,
        nextAllowedAt: later
      }
      await suite.runtime.runPromise(Effect.flatMap(OutboxStore.OutboxStore, (store) => store.insertMany([imported])))
      expect(await outbox((service) => service.history(imported.id))).toEqual([
        { version: 0, state: "deferred", attempts: 0, generation: 0, nextAllowedAt: later, at: entry.createdAt }
      ])
      expect(await written(imported.id)).toBe(1)
    })

    it("filters by ids, line and user; an empty id list matches nothing", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const enqueue = (userId: number, key: string) =>
        outbox((service) =>
          service.enqueue(
            { lineCode: suite.emulator.lineCode, userId, message: key },
            { idempotencyKey: key, portal: "demo", notBefore: Date.now() + 60_000 }
          )
        )
      const a = await enqueue(4, "f-a")
      await enqueue(5, "f-b")
      expect(await outbox((service) => service.count({ userId: 4 }))).toBe(1)
      expect(await outbox((service) => service.count({ lineCode: suite.emulator.lineCode }))).toBe(2)
      expect(await outbox((service) => service.count({ lineCode: "x".repeat(32) }))).toBe(0)
      expect((await outbox((service) => service.list({ ids: [a.entry.id] }))).map((found) => found.id)).toEqual([
        a.entry.id
      ])
      expect(await outbox((service) => service.count({ ids: [] }))).toBe(0)
    })
  })
}
