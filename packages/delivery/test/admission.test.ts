import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime, Metric } from "effect"
import * as Admission from "../src/Admission.js"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import * as DeliveryMetrics from "../src/DeliveryMetrics.js"
import { Outbox } from "../src/Outbox.js"
import type { Database } from "./harness.js"
import {
  admissionCounts,
  channelsFor,
  deliverySuite,
  freshDatabase,
  startDelivery,
  startPartnerDelivery,
  waitFor
} from "./harness.js"

const suite = deliverySuite()

const backlog = 30
const perPortal = 5
const users = Array.from({ length: backlog }, (_, index) => ({ id: index + 1, name: `User ${index + 1}` }))

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`admission control (${kind})`, () => {
    it("runs at most its share of a portal's backlog at once, and a quiet portal is not stuck behind it", async () => {
      const slow = suite.emulator.control.createPortal({
        users,
        webhooks: [{ userId: 1 }],
        lines: [{}],
        bucket: { limit: 2, drainPerSecond: 4 }
      })
      const quiet = suite.emulator.control.createPortal({ users, webhooks: [{ userId: 1 }], lines: [{}] })
      suite.runtime = startDelivery(
        suite.emulator,
        await freshDatabase(kind),
        // One message a call: the slow portal takes ~4 a second, so its backlog waits a few seconds.
        { outbox: { admittedPerPortal: perPortal, admittedTotal: 50 }, portals: { maxBatch: 1 } },
        channelsFor(suite.emulator, [
          { id: slow.id, bucket: { limit: 2, drainPerSecond: 4 } },
          { id: quiet.id, bucket: { limit: 50, drainPerSecond: 2 } }
        ])
      )
      const enqueue = (portal: string, lineCode: string, userId: number, key: string) =>
        suite.runtime!.runPromise(
          Effect.flatMap(Outbox, (outbox) =>
            outbox.enqueue({ lineCode, userId, message: `to ${key}` }, { portal, idempotencyKey: key })
          )
        )
      const entries = []
      for (const user of users) entries.push(await enqueue(slow.id, slow.lineCodes[0]!, user.id, `slow-${user.id}`))
      const other = await enqueue(quiet.id, quiet.lineCodes[0]!, 1, "quiet-1")

      // Watch admission while the backlog drains.
      let mostAdmitted = 0
      let mostWaiting = 0
      let watching = true
      const watcher = (async () => {
        while (watching) {
          const counts = await suite.runtime!.runPromise(
            Effect.flatMap(Admission.Admission, (admission) => admission.counts)
          )
          mostAdmitted = Math.max(mostAdmitted, counts.admitted)
          mostWaiting = Math.max(mostWaiting, counts.waiting)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()

      await waitFor(suite.runtime, other.entry.id, (entry) => entry.state === "sent", 30_000)
      const slowSentWhenQuietWas = suite.emulator.control.counters(slow.id).accepted
      for (const { entry } of entries) await waitFor(suite.runtime, entry.id, (found) => found.state === "sent", 60_000)
      watching = false
      await watcher

      // The quiet portal's message did not wait for the slow portal's backlog.
      expect(slowSentWhenQuietWas).toBeLessThan(backlog)
      // The backlog waited as rows, never more than the portal's share running (plus the quiet portal's one).
      expect(mostWaiting).toBeGreaterThan(0)
      expect(mostAdmitted).toBeLessThanOrEqual(perPortal + 1)
      expect(mostAdmitted).toBeGreaterThan(0)
      expect(suite.emulator.control.counters(slow.id).accepted).toBe(backlog)
      for (const user of users) expect(suite.emulator.control.inbox(slow.id, user.id)).toHaveLength(1)
      await expect.poll(() => admissionCounts(suite.runtime!)).toEqual({ waiting: 0, admitted: 0 })
    })
  })
}

/** Admission alone over a fresh database. */
const admissionOn = async (kind: Database) =>
  ManagedRuntime.make(Admission.layer.pipe(Layer.provideMerge(DeliveryDatabase.layer(await freshDatabase(kind)))))

const limits = { perPortal: 10, total: 10 }

/** A waiting row of portal "demo" for a user on line "line", ready at `readyAt`. */
const waitingRow = (entryId: string, userId: number, readyAt: number) => ({
  entryId,
  generation: 0,
  portal: "demo",
  recipient: Admission.recipientKey("line", userId),
  readyAt
})

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`admission, one entry a recipient at a time (${kind})`, () => {
    it("admits a recipient's entries one at a time, oldest first, beside other recipients'", async () => {
      const runtime = await admissionOn(kind)
      const now = Date.now()
      const row = (entryId: string, userId: number, age: number) => waitingRow(entryId, userId, now - age)
      const admitted = await runtime.runPromise(
        Effect.gen(function* () {
          const admission = yield* Admission.Admission
          // Boris's three, the oldest last in the list; Carla's one; the same user on another line is someone else.
          yield* admission.add([
            row("boris-2", 2, 20),
            row("boris-3", 2, 10),
            row("boris-1", 2, 30),
            row("carla-1", 3, 25),
            { ...row("boris-other-line", 2, 5), recipient: Admission.recipientKey("other", 2) }
          ])
          const rounds: Array<ReadonlyArray<string>> = []
          const admit = Effect.map(admission.admit(limits, now), (keys) => keys.map((key) => key.entryId).sort())
          rounds.push(yield* admit)
          // Nothing more while Boris's first is on its way.
          rounds.push(yield* admit)
          yield* admission.release([{ entryId: "boris-1", generation: 0 }])
          rounds.push(yield* admit)
          yield* admission.release([{ entryId: "boris-2", generation: 0 }])
          rounds.push(yield* admit)
          return rounds
        })
      )
      expect(admitted).toEqual([["boris-1", "boris-other-line", "carla-1"], [], ["boris-2"], ["boris-3"]])
      await runtime.dispose()
    })

    it("finds the recipients waiting behind a long queue of one busy recipient's entries, oldest first", async () => {
      const runtime = await admissionOn(kind)
      const now = Date.now()
      const row = waitingRow
      const admitted = await runtime.runPromise(
        Effect.gen(function* () {
          const admission = yield* Admission.Admission
          // Far more of Boris's entries ahead than one round reads, then Dana's, then Carla's; Erin's comes later.
          yield* admission.add(
            Array.from({ length: 400 }, (_, index) => row(`boris-${index}`, 2, now - 10_000 + index))
          )
          yield* admission.add([row("carla-1", 3, now - 100), row("dana-1", 4, now - 200)])
          const admit = (perPortal: number) =>
            Effect.map(admission.admit({ perPortal, total: 100 }, now), (keys) => keys.map((key) => key.entryId).sort())
          const rounds: Array<ReadonlyArray<string>> = []
          rounds.push(yield* admit(2))
          rounds.push(yield* admit(3))
          yield* admission.release([{ entryId: "dana-1", generation: 0 }])
          rounds.push(yield* admit(3))
          yield* admission.add([row("erin-1", 5, now - 1)])
          rounds.push(yield* admit(3))
          return rounds
        })
      )
      // Boris's oldest first, then the others' in their age order; nothing while everyone waiting is busy.
      expect(admitted).toEqual([["boris-0", "dana-1"], ["carla-1"], [], ["erin-1"]])
      await runtime.dispose()
    })

    it("gives a table made by the version before it its recipient column, and still admits the old rows", async () => {
      const database = await freshDatabase(kind)
      const older = ManagedRuntime.make(DeliveryDatabase.layer(database))
      const now = Date.now()
      await older.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zipRight(
            sql.unsafe(`CREATE TABLE linecast_admission (
              entry_id TEXT NOT NULL,
              generation BIGINT NOT NULL,
              portal TEXT NOT NULL,
              ready_at BIGINT NOT NULL,
              admitted_at BIGINT,
              PRIMARY KEY (entry_id, generation)
            )`),
            sql`INSERT INTO linecast_admission (entry_id, generation, portal, ready_at)
              VALUES ('old-1', 0, 'demo', ${now - 20}), ('old-2', 0, 'demo', ${now - 10})`
          )
        )
      )
      await older.dispose()
      const runtime = ManagedRuntime.make(Admission.layer.pipe(Layer.provideMerge(DeliveryDatabase.layer(database))))
      const admitted = await runtime.runPromise(
        Effect.flatMap(Admission.Admission, (admission) => admission.admit(limits, now))
      )
      // Rows from before the column each count as a recipient of their own.
      expect(admitted.map((key) => key.entryId).sort()).toEqual(["old-1", "old-2"])
      await runtime.dispose()
    })
  })
}

describe("admission keeps a recipient's messages in order", () => {
  it("delivers one recipient's backlog on a partner (NFR) portal in the order it was accepted", async () => {
    const { partner, runtime } = await startPartnerDelivery(suite.emulator, { outbox: { admittedPerPortal: 20 } })
    suite.runtime = runtime
    const texts = Array.from({ length: 8 }, (_, index) => `message ${index + 1}`)
    const accepted = await suite.runtime.runPromise(
      Effect.flatMap(Outbox, (outbox) =>
        outbox.enqueueMany(
          texts.map((message, index) => ({
            message: { lineCode: partner.lineCodes[0]!, userId: 1, message },
            options: { portal: partner.id, idempotencyKey: `nora-${index}` }
          }))
        )
      )
    )
    for (const result of accepted) {
      if (result._tag === "Left") throw new Error(`refused: ${result.left.message}`)
      await waitFor(suite.runtime, result.right.entry.id, (entry) => entry.state === "sent")
    }
    expect(suite.emulator.control.inbox(partner.id, 1).map((received) => received.message)).toEqual(texts)
  })
})

describe("admission rounds", () => {
  const emptyRounds = async () =>
    (await Effect.runPromise(Metric.value(Metric.tagged(DeliveryMetrics.admissionRounds, "admitted", "no")))).count
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it("looks at a full portal for entries added no more than every 50 ms, however often they come", async () => {
    const full = suite.emulator.control.createPortal({ users, webhooks: [{ userId: 1 }], lines: [{}] })
    // No room at all: every round admits nothing. The sweep is far off; only entries added wake the dispatcher.
    suite.runtime = startDelivery(
      suite.emulator,
      await freshDatabase("sqlite"),
      { outbox: { admittedPerPortal: 0, sweepIntervalMs: 60_000 } },
      channelsFor(suite.emulator, [{ id: full.id }])
    )
    const enqueue = (index: number) =>
      suite.runtime!.runPromise(
        Effect.flatMap(Outbox, (outbox) =>
          outbox.enqueue(
            { lineCode: full.lineCodes[0]!, userId: (index % backlog) + 1, message: `number ${index}` },
            { portal: full.id, idempotencyKey: `full-${index}` }
          )
        )
      )
    await enqueue(0)
    await sleep(100)
    const before = await emptyRounds()
    const started = performance.now()
    // Spaced wider than the dispatcher's gather (5 ms): each of these woke a round of its own before.
    for (let index = 1; index <= 30; index++) {
      await enqueue(index)
      await sleep(10)
    }
    await sleep(100)
    const windows = Math.ceil((performance.now() - started) / 50)
    const rounds = (await emptyRounds()) - before
    expect(rounds).toBeGreaterThan(0)
    // In each 50 ms at most one round woken by an entry added and one lent by `enqueue` itself.
    expect(rounds).toBeLessThanOrEqual(2 * (windows + 1))
    expect((await admissionCounts(suite.runtime)).waiting).toBe(31)
  })

  it("tells the dispatcher why it was woken: a place freed wins over an entry added", async () => {
    const runtime = ManagedRuntime.make(
      Admission.layer.pipe(Layer.provideMerge(DeliveryDatabase.layer(await freshDatabase("sqlite"))))
    )
    const reasons = await runtime.runPromise(
      Effect.flatMap(Admission.Admission, (admission) => {
        const key = { entryId: "gone", generation: 0 }
        return Effect.all([
          Effect.zipRight(admission.wake, admission.awaitWake),
          Effect.zipRight(admission.release([key]), admission.awaitWake),
          Effect.zipRight(Effect.zipRight(admission.wake, admission.requeue([key])), admission.awaitWake),
          Effect.zipRight(Effect.zipRight(admission.release([key]), admission.wake), admission.awaitWake),
          Effect.zipRight(admission.wake, admission.awaitWake)
        ])
      })
    )
    expect(reasons).toEqual(["added", "freed", "freed", "freed", "added"])
    await runtime.dispose()
  })
})
