import { SqlClient } from "@effect/sql"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { BitrixError } from "@linecast/core"
import { Effect, Either, Layer, ManagedRuntime, Metric } from "effect"
import { Admission } from "../src/Admission.js"
import * as Delivery from "../src/Delivery.js"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import * as DeliveryMetrics from "../src/DeliveryMetrics.js"
import { type EnqueueItem, type EnqueueOptions, Outbox } from "../src/Outbox.js"
import type { Database } from "./harness.js"
import { accepted, deliverySuite, demoItem, freshDatabase, startDelivery, waitFor, windowSeconds } from "./harness.js"

const suite = deliverySuite({
  started: (emulator) => emulator.control.configure("demo", { weeklyWindowSeconds: windowSeconds }),
  cleanUp: (emulator) => emulator.control.reset()
})
let ingest: ManagedRuntime.ManagedRuntime<Outbox | Admission, unknown> | undefined
afterEach(async () => {
  await ingest?.dispose()
  ingest = undefined
})

const item = (userId: number, text: string, options: Partial<EnqueueOptions> & { idempotencyKey: string }) =>
  demoItem(suite.emulator.lineCode, userId, text, options)

const outbox = <A, E>(
  use: (service: Outbox["Type"]) => Effect.Effect<A, E>,
  on: ManagedRuntime.ManagedRuntime<Outbox, unknown> = suite.runtime!
) => on.runPromise(Effect.flatMap(Outbox, use))

const enqueueMany = (items: ReadonlyArray<EnqueueItem>) => outbox((service) => service.enqueueMany(items))

const inboxTexts = (userId: number) => suite.emulator.control.inbox("demo", userId).map((received) => received.message)
const enqueuedCount = async () => (await Effect.runPromise(Metric.value(DeliveryMetrics.enqueued))).count

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`enqueueMany on ${kind}`, () => {
    it("stores a batch in order, one entry per key within and across calls, and delivers each once", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const before = await enqueuedCount()
      const first = await enqueueMany([
        item(2, "first", { idempotencyKey: "m-1" }),
        item(3, "second", { idempotencyKey: "m-2" }),
        item(2, "first, repeated", { idempotencyKey: "m-1" })
      ])
      const [one, two, oneAgain] = first.map(accepted)
      expect([one!.created, two!.created, oneAgain!.created]).toEqual([true, true, false])
      expect(oneAgain!.entry.id).toBe(one!.entry.id)
      expect(oneAgain!.entry.message.message).toBe("first")

      const second = await enqueueMany([
        item(3, "second, again", { idempotencyKey: "m-2" }),
        item(4, "third", { idempotencyKey: "m-3" })
      ])
      const [twoAgain, three] = second.map(accepted)
      expect(twoAgain).toMatchObject({ created: false, entry: { id: two!.entry.id } })
      expect(three!.created).toBe(true)
      expect(await enqueuedCount()).toBe(before + 3)

      // Stored in the order given.
      const listed = await outbox((service) => service.list({ portal: "demo" }))
      expect(listed.map((entry) => entry.idempotencyKey)).toEqual(["m-1", "m-2", "m-3"])
      expect((await outbox((service) => service.history(one!.entry.id)))[0]).toMatchObject({
        version: 0,
        state: "queued"
      })

      for (const { entry } of [one!, two!, three!])
        await waitFor(suite.runtime, entry.id, (found) => found.state === "sent")
      expect(inboxTexts(2)).toEqual(["first"])
      expect(inboxTexts(3)).toEqual(["second"])
      expect(inboxTexts(4)).toEqual(["third"])
    })

    it("refuses invalid and reject-policy items one by one, and stores the others", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const opening = accepted((await enqueueMany([item(6, "opening", { idempotencyKey: "open" })]))[0])
      await waitFor(suite.runtime, opening.entry.id, (entry) => entry.state === "sent")

      const results = await enqueueMany([
        item(4, "valid", { idempotencyKey: "v-1" }),
        { message: { lineCode: "short", userId: 4, message: "bad line" }, options: { idempotencyKey: "bad" } },
        item(5, "valid too", { idempotencyKey: "v-2" }),
        item(6, "refused: written to this week", { idempotencyKey: "r-1", policy: "reject" }),
        // Rejected alone, but its key was taken by an item before it: it finds that entry, as one by one.
        item(6, "deferred", { idempotencyKey: "d-1" }),
        item(6, "same key as the deferred", { idempotencyKey: "d-1", policy: "reject" })
      ])
      expect(results.map((result) => (Either.isLeft(result) ? result.left._tag : "stored"))).toEqual([
        "stored",
        "LineCodeError",
        "stored",
        "UserMessageLimitError",
        "stored",
        "stored"
      ])
      const refused = Either.getLeft(results[3]!)
      expect(refused._tag === "Some" && refused.value).toBeInstanceOf(BitrixError.UserMessageLimitError)
      expect(accepted(results[5]).entry.id).toBe(accepted(results[4]).entry.id)
      expect(await outbox((service) => service.count({ idempotencyKey: "bad" }))).toBe(0)
      expect(await outbox((service) => service.count({ idempotencyKey: "r-1" }))).toBe(0)

      await waitFor(suite.runtime, accepted(results[0]).entry.id, (entry) => entry.state === "sent")
      await waitFor(suite.runtime, accepted(results[2]).entry.id, (entry) => entry.state === "sent")
      expect(inboxTexts(4)).toEqual(["valid"])
      expect(inboxTexts(5)).toEqual(["valid too"])
    })

    it("takes more items than one statement holds, keys repeated across statements", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      // Not before a minute from now: stored and waiting, nothing sent during the test.
      const later = Date.now() + 60_000
      const keys = Array.from({ length: 450 }, (_, index) => `k-${index % 300}`)
      const results = await enqueueMany(
        keys.map((key, index) => item(2 + (index % 50), `n ${index}`, { idempotencyKey: key, notBefore: later }))
      )
      const stored = results.map(accepted)
      expect(stored.filter((one) => one.created)).toHaveLength(300)
      expect(stored.slice(300).every((one, index) => !one.created && one.entry.id === stored[index]!.entry.id)).toBe(
        true
      )
      expect(await outbox((service) => service.count({ portal: "demo" }))).toBe(300)
      expect(await suite.runtime.runPromise(Effect.flatMap(Admission, (admission) => admission.counts))).toMatchObject({
        waiting: 300
      })
    })

    it("stores the caller's own rows in the entries' transaction, and neither when either fails", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      // The caller's table, on the SqlClient delivery runs on (a relay's record of whom to tell, say).
      const notes = <A>(use: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
        suite.runtime!.runPromise(Effect.flatMap(SqlClient.SqlClient, use))
      await notes((sql) => sql`CREATE TABLE caller_notes (entry_id TEXT PRIMARY KEY, note TEXT NOT NULL)`)
      const noteAll = (results: ReadonlyArray<Either.Either<{ readonly entry: { readonly id: string } }, unknown>>) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => {
          const rows = results.flatMap((result) =>
            Either.isRight(result) ? [{ entry_id: result.right.entry.id, note: "tell chat 7" }] : []
          )
          return Effect.asVoid(sql`INSERT INTO caller_notes ${sql.insert(rows)}`)
        })
      const enqueueNoting = (items: ReadonlyArray<EnqueueItem>) =>
        suite.runtime!.runPromise(
          Effect.flatMap(Outbox, (service) => Effect.either(service.enqueueMany(items, { alongside: noteAll })))
        )
      const count = async (table: string) =>
        Number(
          (await notes((sql) => sql<{ total: number | string }>`SELECT COUNT(*) AS total FROM ${sql(table)}`))[0]?.total
        )

      const stored = await enqueueNoting([
        item(2, "a", { idempotencyKey: "n-1" }),
        item(3, "b", { idempotencyKey: "n-2" })
      ])
      expect(Either.isRight(stored)).toBe(true)
      const ids = Either.isRight(stored) ? stored.right.map((result) => accepted(result).entry.id) : []
      const noted = await notes((sql) => sql<{ entry_id: string }>`SELECT entry_id FROM caller_notes ORDER BY entry_id`)
      expect(noted.map((row) => row.entry_id)).toEqual([...ids].sort())

      // The caller's write fails (a note for an entry already noted): the new entries are not stored either.
      await notes((sql) => sql`INSERT INTO caller_notes (entry_id, note) VALUES ('taken', 'x')`)
      const clash = await suite.runtime.runPromise(
        Effect.flatMap(Outbox, (service) =>
          Effect.either(
            service.enqueueMany([item(4, "c", { idempotencyKey: "n-3" })], {
              alongside: () =>
                Effect.flatMap(SqlClient.SqlClient, (sql) =>
                  Effect.asVoid(sql`INSERT INTO caller_notes (entry_id, note) VALUES ('taken', 'again')`)
                )
            })
          )
        )
      )
      expect(Either.isLeft(clash) && clash.left._tag).toBe("OutboxStorageError")
      expect(await outbox((service) => service.count())).toBe(2)
      expect(await count("linecast_admission")).toBeLessThanOrEqual(2)
      expect(await count("caller_notes")).toBe(3)
    })

    it("stores nothing when the transaction fails, and the same items go in once it works", async () => {
      const database = await freshDatabase(kind)
      suite.runtime = startDelivery(suite.emulator, database)
      // The test's own connection to the same database, for what the outbox does not do.
      const admin = ManagedRuntime.make(DeliveryDatabase.layer(database))
      const onDatabase = <A>(use: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
        admin.runPromise(Effect.flatMap(SqlClient.SqlClient, use))
      try {
        // Started: its tables are there.
        expect(await outbox((service) => service.count())).toBe(0)
        // The admission rows are written last: a failure there must take the entries and their history back too.
        await onDatabase((sql) =>
          sql.onDialectOrElse({
            pg: () =>
              Effect.zipRight(
                sql.unsafe(`CREATE FUNCTION refuse_admission() RETURNS trigger AS $$
                  BEGIN RAISE EXCEPTION 'admission refused by the test'; END $$ LANGUAGE plpgsql`),
                sql.unsafe(`CREATE TRIGGER refuse_admission BEFORE INSERT ON linecast_admission
                  FOR EACH ROW EXECUTE FUNCTION refuse_admission()`)
              ),
            orElse: () =>
              sql.unsafe(`CREATE TRIGGER refuse_admission BEFORE INSERT ON linecast_admission
                BEGIN SELECT RAISE(ABORT, 'admission refused by the test'); END`)
          })
        )
        const items = [item(2, "a", { idempotencyKey: "t-1" }), item(3, "b", { idempotencyKey: "t-2" })]
        const failed = await suite.runtime.runPromise(
          Effect.flip(Effect.flatMap(Outbox, (service) => service.enqueueMany(items)))
        )
        expect(failed._tag).toBe("OutboxStorageError")
        expect(await outbox((service) => service.count())).toBe(0)
        const history = await onDatabase(
          (sql) => sql<{ total: number | string }>`SELECT COUNT(*) AS total FROM linecast_outbox_history`
        )
        expect(Number(history[0]?.total)).toBe(0)

        await onDatabase((sql) =>
          sql.onDialectOrElse({
            pg: () => sql.unsafe("DROP TRIGGER refuse_admission ON linecast_admission"),
            orElse: () => sql.unsafe("DROP TRIGGER refuse_admission")
          })
        )
        const stored = (await enqueueMany(items)).map(accepted)
        expect(stored.map((one) => one.created)).toEqual([true, true])
        for (const { entry } of stored) await waitFor(suite.runtime, entry.id, (found) => found.state === "sent")
        expect([...inboxTexts(2), ...inboxTexts(3)]).toEqual(["a", "b"])
      } finally {
        await admin.dispose()
      }
    })
  })
}

describe("an ingest-only outbox", () => {
  it("stores entries that a separate delivery runner on the same SQLite file sends", async () => {
    const database = await freshDatabase("sqlite")
    ingest = ManagedRuntime.make(
      Delivery.layerIngest({ ledger: { windowMs: windowSeconds * 1000 } }).pipe(
        Layer.provide(DeliveryDatabase.layer(database))
      )
    )
    const first = (
      await outbox(
        (service) =>
          service.enqueueMany([
            item(2, "ingested 1", { idempotencyKey: "i-1" }),
            item(3, "ingested 2", { idempotencyKey: "i-2" })
          ]),
        ingest
      )
    ).map(accepted)
    // Nothing here starts them: they wait as rows.
    expect(await ingest.runPromise(Effect.flatMap(Admission, (admission) => admission.counts))).toEqual({
      waiting: 2,
      admitted: 0
    })
    expect(suite.emulator.control.counters().accepted).toBe(0)

    suite.runtime = startDelivery(suite.emulator, database)
    for (const { entry } of first) await waitFor(suite.runtime, entry.id, (found) => found.state === "sent")
    // Taken in while the runner runs: it is not woken from here, and finds it on its own.
    const later = accepted(
      (await outbox((service) => service.enqueueMany([item(4, "ingested 3", { idempotencyKey: "i-3" })]), ingest))[0]
    )
    await waitFor(suite.runtime, later.entry.id, (found) => found.state === "sent")
    expect([...inboxTexts(2), ...inboxTexts(3), ...inboxTexts(4)]).toEqual(["ingested 1", "ingested 2", "ingested 3"])
    // The ingesting side reads what the runner did.
    expect((await outbox((service) => service.get(later.entry.id), ingest)).state).toBe("sent")
  })
})
