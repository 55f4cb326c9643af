import { SqlClient } from "@effect/sql"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Delivery from "../src/Delivery.js"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import { type EnqueueOptions, Outbox } from "../src/Outbox.js"
import { accepted, deliverySuite, demoItem, freshDatabase, startDelivery, waitFor, windowSeconds } from "./harness.js"

const suite = deliverySuite({
  started: (emulator) => emulator.control.configure("demo", { weeklyWindowSeconds: windowSeconds }),
  cleanUp: (emulator) => emulator.control.reset()
})
let owner: ManagedRuntime.ManagedRuntime<Outbox | SqlClient.SqlClient, unknown> | undefined
afterEach(async () => {
  await owner?.dispose()
  owner = undefined
})

const item = (userId: number, text: string, options: Partial<EnqueueOptions> & { idempotencyKey: string }) =>
  demoItem(suite.emulator.lineCode, userId, text, options)

const onOwner = <A, E>(use: (outbox: Outbox["Type"]) => Effect.Effect<A, E>) =>
  owner!.runPromise(Effect.flatMap(Outbox, use))

/** Rows as they are in the file, read around the outbox. */
const rowsIn = (table: "linecast_outbox" | "linecast_outbox_journal") =>
  owner!.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.map(sql<{ total: number }>`SELECT COUNT(*) AS total FROM ${sql(table)}`, (rows) => Number(rows[0]!.total))
    )
  )

const inboxTexts = (userId: number) => suite.emulator.control.inbox("demo", userId).map((received) => received.message)

describe("the intake journal", () => {
  it("stores a batch as one row, finds its keys there, shows its entries to reads, and a runner sends each once", async () => {
    const database = await freshDatabase("sqlite")
    owner = ManagedRuntime.make(
      Delivery.layerIngest({ ledger: { windowMs: windowSeconds * 1000 }, journal: true }).pipe(
        Layer.provideMerge(DeliveryDatabase.layer(database))
      )
    )
    const batch = await onOwner((outbox) =>
      outbox.enqueueMany([
        item(2, "journaled 1", { idempotencyKey: "j-1" }),
        item(3, "journaled 2", { idempotencyKey: "j-2" }),
        item(2, "journaled 1 again", { idempotencyKey: "j-1" })
      ])
    )
    const [first, second, again] = batch.map(accepted)
    expect([first!.created, second!.created, again!.created]).toEqual([true, true, false])
    expect(again!.entry.id).toBe(first!.entry.id)
    // One row for the batch; nothing in the outbox yet.
    expect(await rowsIn("linecast_outbox_journal")).toBe(1)
    expect(await rowsIn("linecast_outbox")).toBe(0)

    // A key waiting in the journal is found there, as one in the outbox would be, and nothing is added.
    const repeated = accepted(
      (await onOwner((outbox) => outbox.enqueueMany([item(2, "journaled 1, resent", { idempotencyKey: "j-1" })])))[0]
    )
    expect(repeated.created).toBe(false)
    expect(repeated.entry.id).toBe(first!.entry.id)
    expect(await rowsIn("linecast_outbox_journal")).toBe(1)

    // A read moves what waits first: the entry is there, the journal empty.
    expect((await onOwner((outbox) => outbox.get(first!.entry.id))).state).toBe("queued")
    expect(await rowsIn("linecast_outbox_journal")).toBe(0)
    expect(await rowsIn("linecast_outbox")).toBe(2)
    const stored = accepted(
      (await onOwner((outbox) => outbox.enqueueMany([item(2, "journaled 1, once more", { idempotencyKey: "j-1" })])))[0]
    )
    expect(stored).toMatchObject({ created: false, entry: { id: first!.entry.id } })

    // Counts and lists see a batch still waiting.
    const third = accepted(
      (await onOwner((outbox) => outbox.enqueueMany([item(4, "journaled 3", { idempotencyKey: "j-3" })])))[0]
    )
    expect(await rowsIn("linecast_outbox_journal")).toBe(1)
    expect(await onOwner((outbox) => outbox.count({ portal: "demo" }))).toBe(3)
    const waiting = accepted(
      (await onOwner((outbox) => outbox.enqueueMany([item(5, "journaled 4", { idempotencyKey: "j-4" })])))[0]
    )
    expect((await onOwner((outbox) => outbox.list({ ids: [waiting.entry.id] }))).map((entry) => entry.id)).toEqual([
      waiting.entry.id
    ])

    // A batch left in the journal by an owner that stopped is moved in and sent by a runner that starts later.
    const left = accepted(
      (await onOwner((outbox) => outbox.enqueueMany([item(6, "journaled 5", { idempotencyKey: "j-5" })])))[0]
    )
    await owner!.dispose()
    owner = undefined
    suite.runtime = startDelivery(suite.emulator, database)
    for (const id of [first!.entry.id, second!.entry.id, third.entry.id, waiting.entry.id, left.entry.id]) {
      await waitFor(suite.runtime, id, (found) => found.state === "sent")
    }
    expect([2, 3, 4, 5, 6].map(inboxTexts)).toEqual([
      ["journaled 1"],
      ["journaled 2"],
      ["journaled 3"],
      ["journaled 4"],
      ["journaled 5"]
    ])
  })
  it("is moved by the owner itself once a backlog waits, so that a stopped runner cannot make each batch dearer", async () => {
    const database = await freshDatabase("sqlite")
    owner = ManagedRuntime.make(
      Delivery.layerIngest({ journal: true }).pipe(Layer.provideMerge(DeliveryDatabase.layer(database)))
    )
    let most = 0
    for (let index = 0; index < 70; index++) {
      await onOwner((outbox) => outbox.enqueueMany([item(2, `backlog ${index}`, { idempotencyKey: `b-${index}` })]))
      most = Math.max(most, await rowsIn("linecast_outbox_journal"))
    }
    // Never more than a backlog's worth waits: past it, a batch moves what waits.
    expect(most).toBe(64)
    expect((await rowsIn("linecast_outbox")) + (await rowsIn("linecast_outbox_journal"))).toBe(70)
    expect(await rowsIn("linecast_outbox")).toBeGreaterThanOrEqual(64)
  })
  it("fails a read with a typed storage error, not a defect, when a journal row is damaged", async () => {
    const database = await freshDatabase("sqlite")
    owner = ManagedRuntime.make(
      Delivery.layerIngest({ journal: true }).pipe(Layer.provideMerge(DeliveryDatabase.layer(database)))
    )
    await owner.runPromise(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`INSERT INTO linecast_outbox_journal (id, keys, entries) VALUES (1, '["x"]', 'not json')`
      )
    )
    const exit = await owner.runPromise(Effect.exit(Effect.flatMap(Outbox, (outbox) => outbox.get("missing"))))
    expect(exit).toMatchObject({ _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "OutboxStorageError" } } })
  })
})
