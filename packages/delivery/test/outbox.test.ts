import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { BitrixError, type NetworkMessage } from "@linecast/core"
import { Effect, Either, Layer, ManagedRuntime, Metric } from "effect"
import * as Admission from "../src/Admission.js"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import * as DeliveryMetrics from "../src/DeliveryMetrics.js"
import * as EntryChanges from "../src/EntryChanges.js"
import { advance } from "../src/internal/advance.js"
import { type EnqueueOptions, Outbox } from "../src/Outbox.js"
import type { OutboxEntry } from "../src/OutboxEntry.js"
import * as OutboxStore from "../src/OutboxStore.js"
import { PortalSender } from "../src/PortalSender.js"
import type { Database } from "./harness.js"
import {
  admissionCounts,
  channelsFor,
  deliverySuite,
  freshDatabase,
  startDelivery,
  startPartnerDelivery,
  waitFor,
  windowSeconds
} from "./harness.js"

const suite = deliverySuite({
  started: (emulator) => emulator.control.configure("demo", { weeklyWindowSeconds: windowSeconds }),
  cleanUp: (emulator) => {
    emulator.control.configure("demo", { faults: {} })
    emulator.control.reset()
  }
})

const message = (userId: number, text: string): NetworkMessage.NetworkMessage => ({
  lineCode: suite.emulator.lineCode,
  userId,
  message: text
})

const enqueue = (
  text: string,
  userId: number,
  options: Partial<EnqueueOptions> & { readonly idempotencyKey: string }
) =>
  suite.runtime!.runPromise(
    Effect.flatMap(Outbox, (outbox) => outbox.enqueue(message(userId, text), { portal: "demo", ...options }))
  )

const inboxTexts = (userId: number) => suite.emulator.control.inbox("demo", userId).map((received) => received.message)

/** An entry and its place in admission, admitted, with no runner: what a runner that died at the wrong moment leaves. */
const storeAdmitted = async (
  database: DeliveryDatabase.DatabaseOptions,
  entry: Pick<OutboxEntry, "id" | "message" | "state"> & Partial<OutboxEntry>
) => {
  const storage = ManagedRuntime.make(
    Layer.merge(OutboxStore.layer, Admission.layer).pipe(
      Layer.provide(Layer.merge(DeliveryDatabase.layer(database), EntryChanges.layer))
    )
  )
  const now = Date.now()
  await storage.runPromise(
    Effect.gen(function* () {
      const store = yield* OutboxStore.OutboxStore
      const admission = yield* Admission.Admission
      yield* store.insert({
        idempotencyKey: entry.id,
        portal: "demo",
        policy: "defer",
        attempts: 0,
        generation: 0,
        createdAt: now,
        updatedAt: now,
        version: 0,
        ...entry
      })
      const recipient = Admission.recipientKey(entry.message.lineCode, entry.message.userId)
      yield* admission.add([{ entryId: entry.id, generation: 0, portal: "demo", recipient, readyAt: now }])
      expect(yield* admission.admit({ perPortal: 10, total: 10 }, now)).toEqual([{ entryId: entry.id, generation: 0 }])
    })
  )
  await storage.dispose()
}

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`delivery on ${kind}`, () => {
    it("sends once per idempotency key", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const enqueuedBefore = (await Effect.runPromise(Metric.value(DeliveryMetrics.enqueued))).count
      const enteredCount = async (state: "sending" | "sent") =>
        (await Effect.runPromise(Metric.value(Metric.tagged(DeliveryMetrics.transitions, "state", state)))).count
      const sendingBefore = await enteredCount("sending")
      const sentBefore = await enteredCount("sent")
      const first = await enqueue("Deal won", 2, { idempotencyKey: "deal-1-won" })
      const again = await enqueue("Deal won (again)", 2, { idempotencyKey: "deal-1-won" })
      expect(first.created).toBe(true)
      expect(again.created).toBe(false)
      expect(again.entry.id).toBe(first.entry.id)
      const sent = await waitFor(suite.runtime, first.entry.id, (entry) => entry.state === "sent")
      expect(sent.settlement).toBe("sent")
      expect(sent.receipt?.requestId).toBeTruthy()
      expect(inboxTexts(2)).toEqual(["Deal won"])
      expect((await Effect.runPromise(Metric.value(DeliveryMetrics.enqueued))).count - enqueuedBefore).toBe(1)
      // The transitions by state: one message, one `sending`, one `sent`.
      expect((await enteredCount("sending")) - sendingBefore).toBe(1)
      expect((await enteredCount("sent")) - sentBefore).toBe(1)
    })

    it("sends a message with its first step alone, and makes a workflow only of one that has to wait", async () => {
      const database = await freshDatabase(kind)
      suite.runtime = startDelivery(suite.emulator, database)
      // The engine's own record of workflow executions (read on a connection of its own): one entity a workflow.
      const reader = ManagedRuntime.make(DeliveryDatabase.layer(database))
      const workflows = () =>
        reader.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ n: number | string }>`SELECT COUNT(DISTINCT entity_id) AS n FROM cluster_messages
              WHERE entity_type = 'Workflow/linecast/Delivery'`.pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)))
          )
        )
      const plain = await enqueue("no waiting", 2, { idempotencyKey: "first-step-1" })
      await waitFor(suite.runtime, plain.entry.id, (entry) => entry.state === "sent")
      expect(await workflows()).toBe(0)
      // The window is now closed: the next one waits for it, as a workflow that begins with the wait.
      const later = await enqueue("after the window", 2, { idempotencyKey: "first-step-2" })
      await waitFor(suite.runtime, later.entry.id, (entry) => entry.state === "deferred")
      await expect.poll(workflows).toBe(1)
      await waitFor(suite.runtime, later.entry.id, (entry) => entry.state === "sent")
      expect(inboxTexts(2)).toEqual(["no waiting", "after the window"])
      await expect.poll(() => admissionCounts(suite.runtime!)).toEqual({ waiting: 0, admitted: 0 })
      await reader.dispose()
    })

    it("defers a second message to the same recipient until the window opens", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const first = await enqueue("first", 3, { idempotencyKey: "a" })
      await waitFor(suite.runtime, first.entry.id, (entry) => entry.state === "sent")
      const second = await enqueue("second", 3, { idempotencyKey: "b", policy: "defer" })
      const deferred = await waitFor(suite.runtime, second.entry.id, (entry) => entry.state !== "queued")
      expect(deferred.state).toBe("deferred")
      expect(deferred.nextAllowedAt).toBeGreaterThan(Date.now() - 1000)
      await waitFor(suite.runtime, second.entry.id, (entry) => entry.state === "sent")
      const [one, two] = suite.emulator.control.inbox("demo", 3)
      expect(two!.receivedAt - one!.receivedAt).toBeGreaterThanOrEqual(windowSeconds * 1000)
      expect(suite.emulator.control.counters().rejected.USER_MESSAGE_LIMIT ?? 0).toBe(0)
    })

    it("rejects at enqueue with nextAllowedAt when the policy is reject", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const first = await enqueue("first", 4, { idempotencyKey: "r1" })
      await waitFor(suite.runtime, first.entry.id, (entry) => entry.state === "sent")
      const refused = await suite.runtime.runPromise(
        Effect.flatMap(Outbox, (outbox) =>
          outbox.enqueue(message(4, "second"), { portal: "demo", idempotencyKey: "r2", policy: "reject" })
        ).pipe(Effect.either)
      )
      expect(Either.isLeft(refused)).toBe(true)
      const error = Either.getLeft(refused).pipe((option) => (option._tag === "Some" ? option.value : undefined))
      expect(error).toBeInstanceOf(BitrixError.UserMessageLimitError)
      expect((error as BitrixError.UserMessageLimitError).nextAllowedAt).toBeGreaterThan(Date.now())
      expect(
        await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.count({ idempotencyKey: "r2" })))
      ).toBe(0)
    })

    it("digests everything pending into one message when the window opens, in order", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const first = await enqueue("opening", 5, { idempotencyKey: "d0" })
      await waitFor(suite.runtime, first.entry.id, (entry) => entry.state === "sent")
      const ids: Array<string> = []
      for (const [index, text] of ["one", "two", "three"].entries()) {
        ids.push((await enqueue(text, 5, { idempotencyKey: `d${index + 1}`, policy: "digest" })).entry.id)
      }
      const settled = await Promise.all(ids.map((id) => waitFor(suite.runtime!, id, (entry) => entry.state === "sent")))
      expect(inboxTexts(5)).toEqual(["opening", "one\n\ntwo\n\nthree"])
      expect(settled.map((entry) => entry.settlement).sort()).toEqual(["merged", "merged", "sent"])
    })

    it("replaces: the newest pending message wins", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const first = await enqueue("opening", 6, { idempotencyKey: "p0" })
      await waitFor(suite.runtime, first.entry.id, (entry) => entry.state === "sent")
      const ids: Array<string> = []
      for (const text of ["old", "older-but-newer", "newest"]) {
        ids.push((await enqueue(text, 6, { idempotencyKey: text, policy: "replace" })).entry.id)
      }
      const settled = await Promise.all(
        ids.map((id) => waitFor(suite.runtime!, id, (entry) => entry.state === "sent" || entry.state === "dead"))
      )
      expect(inboxTexts(6)).toEqual(["opening", "newest"])
      expect(settled.map((entry) => entry.state)).toEqual(["dead", "dead", "sent"])
      expect(settled[0]!.lastError?.code).toBe("REPLACED")
    })

    it("learns from the portal that someone else wrote first, and sends when the window opens", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      // Another system writes to user 2 first, straight to the portal.
      const other = await fetch(`${suite.emulator.webhookUrl}imopenlines.network.message.add`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ CODE: suite.emulator.lineCode, USER_ID: 2, MESSAGE: "from elsewhere" })
      })
      expect(((await other.json()) as { result: boolean }).result).toBe(true)
      const ours = await enqueue("ours", 2, { idempotencyKey: "learn", policy: "defer" })
      const deferred = await waitFor(suite.runtime, ours.entry.id, (entry) => entry.state === "deferred")
      expect(deferred.lastError?.code).toBe("USER_MESSAGE_LIMIT")
      await waitFor(suite.runtime, ours.entry.id, (entry) => entry.state === "sent")
      expect(inboxTexts(2)).toEqual(["from elsewhere", "ours"])
    })

    it("settles a lost answer without a duplicate: the weekly rule proves the first send landed", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      suite.emulator.control.configure("demo", { faults: { lostAnswerRate: 1 } })
      const entry = await enqueue("exactly once", 3, { idempotencyKey: "lost" })
      await waitFor(suite.runtime, entry.entry.id, (current) => current.state === "ambiguous")
      suite.emulator.control.configure("demo", { faults: {} })
      const settled = await waitFor(suite.runtime, entry.entry.id, (current) => current.state === "sent")
      expect(settled.settlement).toBe("landed")
      expect(inboxTexts(3)).toEqual(["exactly once"])
    })

    it("dead-letters a permanent failure with its reason, and replays it", async () => {
      suite.runtime = startDelivery(suite.emulator, await freshDatabase(kind))
      const unjoined = suite.emulator.control.portal().addLine({ joined: false })
      const entry = await suite.runtime.runPromise(
        Effect.flatMap(Outbox, (outbox) =>
          outbox.enqueue(
            { lineCode: unjoined.code, userId: 4, message: "to a line not joined yet" },
            { portal: "demo", idempotencyKey: "dead" }
          )
        )
      )
      const dead = await waitFor(suite.runtime, entry.entry.id, (current) => current.state === "dead")
      expect(dead.lastError).toMatchObject({ code: "NOT_FOUND", errorClass: "permanent" })
      expect(await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.count({ state: "dead" })))).toBe(
        1
      )
      suite.emulator.control.portal().joinLine(unjoined.code)
      await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.replay(entry.entry.id)))
      const sent = await waitFor(suite.runtime, entry.entry.id, (current) => current.state === "sent")
      expect(sent.generation).toBe(1)
      const notAgain = await suite.runtime.runPromise(
        Effect.flatMap(Outbox, (outbox) => outbox.replay(entry.entry.id)).pipe(Effect.either)
      )
      expect(Either.isLeft(notAgain) && notAgain.left._tag).toBe("NotReplayableError")
    })
  })
}

describe("delivery: bad input and restarts", () => {
  it("keeps reconciling once an attempt may have landed, even after a later attempt is proved never sent", async () => {
    const portal = suite.emulator.control.createPortal({
      users: [{ id: 1, name: "Omar" }],
      webhooks: [{ userId: 1 }],
      lines: [{}]
    })
    suite.runtime = startDelivery(
      suite.emulator,
      await freshDatabase("sqlite"),
      {},
      channelsFor(suite.emulator, [{ id: portal.id }])
    )
    const landed = { lineCode: portal.lineCodes[0]!, userId: 1, message: "landed once" }
    const now = Date.now()
    const outcome = await suite.runtime.runPromise(
      Effect.gen(function* () {
        // Attempt 1 went out and its answer was lost; a reconciling step then saved attempt 2, which never left.
        yield* Effect.flatMap(PortalSender, (sender) => sender.send(portal.id, "uncertain/0/1", landed))
        const store = yield* OutboxStore.OutboxStore
        yield* store.insert({
          id: "uncertain",
          idempotencyKey: "uncertain",
          portal: portal.id,
          message: landed,
          policy: "defer",
          state: "sending",
          attempts: 2,
          uncertain: true,
          generation: 0,
          createdAt: now,
          updatedAt: now,
          version: 0
        })
        return yield* advance({ entryId: "uncertain", generation: 0 })
      })
    )
    expect(outcome).toEqual({ _tag: "Done" })
    const entry = await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.get("uncertain")))
    // The portal's USER_MESSAGE_LIMIT to attempt 3 proves attempt 1 landed: sent, never deferred for a resend.
    expect([entry.state, entry.settlement]).toEqual(["sent", "landed"])
    expect(suite.emulator.control.inbox(portal.id, 1).map((received) => received.message)).toEqual(["landed once"])
  })

  it("leaves an ambiguous entry of a partner (NFR) portal to the operator, whatever step finds it", async () => {
    const { partner, runtime } = await startPartnerDelivery(suite.emulator)
    suite.runtime = runtime
    const now = Date.now()
    const inbox = () => suite.emulator.control.inbox(partner.id, 1).map((received) => received.message)
    const stray = await suite.runtime.runPromise(
      Effect.gen(function* () {
        const store = yield* OutboxStore.OutboxStore
        yield* store.insert({
          id: "cut-off",
          idempotencyKey: "cut-off",
          portal: partner.id,
          message: { lineCode: partner.lineCodes[0]!, userId: 1, message: "may have landed" },
          policy: "defer",
          state: "ambiguous",
          attempts: 1,
          generation: 0,
          createdAt: now,
          updatedAt: now,
          version: 0
        })
        // A second step of its workflow (the engine lost the first one's answer) finds it ambiguous.
        return yield* advance({ entryId: "cut-off", generation: 0 })
      })
    )
    expect(stray).toEqual({ _tag: "Done" })
    expect(inbox()).toEqual([])
    const entry = await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.get("cut-off")))
    expect(entry.state).toBe("ambiguous")
    // The operator's replay does send it.
    await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.replay("cut-off")))
    await waitFor(suite.runtime, "cut-off", (found) => found.state === "sent")
    expect(inbox()).toEqual(["may have landed"])
  })

  it("refuses to start on tables made by another version, with a typed error that says so", async () => {
    const database = await freshDatabase("sqlite")
    const older = ManagedRuntime.make(DeliveryDatabase.layer(database))
    await older.runPromise(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`CREATE TABLE linecast_outbox (id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL, body TEXT)`
      )
    )
    await older.dispose()
    suite.runtime = startDelivery(suite.emulator, database)
    const failure = await suite.runtime.runPromise(Effect.void).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(String(failure)).toMatch(/OutboxStorageError/)
    expect(String(failure)).toMatch(/schema mismatch: linecast_outbox exists without the columns/)
  })

  it("refuses an invalid message at enqueue with core's typed error and stores nothing", async () => {
    suite.runtime = startDelivery(suite.emulator, await freshDatabase("sqlite"))
    const refused = await suite.runtime.runPromise(
      Effect.flatMap(Outbox, (outbox) =>
        outbox.enqueue({ lineCode: "short", userId: 2, message: "x" }, { portal: "demo", idempotencyKey: "bad" })
      ).pipe(Effect.either)
    )
    expect(Either.isLeft(refused) && refused.left._tag).toBe("LineCodeError")
    expect(await suite.runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.count()))).toBe(0)
  })

  it("sends an admitted entry whose first step never ran (a crash between the two) with the stall sweep", async () => {
    const database = await freshDatabase("sqlite")
    // The entry and its place in admission are written together; admitted, then the process dies before its
    // first step ran.
    await storeAdmitted(database, { id: "stored-only", message: message(6, "stored, never started"), state: "queued" })
    suite.runtime = startDelivery(suite.emulator, database, { outbox: { stallMs: 300, sweepIntervalMs: 200 } })
    await waitFor(suite.runtime, "stored-only", (entry) => entry.state === "sent")
    expect(inboxTexts(6)).toEqual(["stored, never started"])
    // At rest, the entry gave its place back.
    await expect.poll(() => admissionCounts(suite.runtime!)).toEqual({ waiting: 0, admitted: 0 })
  })

  it("on SQLite, resumes at start what a runner that is gone left admitted, without waiting the stall time", async () => {
    const database = await freshDatabase("sqlite")
    // Admitted and in flight when its runner was killed. SQLite has one runner: the next one to start takes it up at
    // once, not after `stallMs` (30 s by default).
    await storeAdmitted(database, {
      id: "left-in-flight",
      message: message(6, "in flight at the kill"),
      state: "queued"
    })
    suite.runtime = startDelivery(suite.emulator, database, { outbox: { sweepIntervalMs: 200 } })
    await waitFor(suite.runtime, "left-in-flight", (entry) => entry.state === "sent", 10_000)
    expect(inboxTexts(6)).toEqual(["in flight at the kill"])
  })

  it("starts the workflow of an entry whose first step had to wait and whose runner died before starting it", async () => {
    const database = await freshDatabase("sqlite")
    // The state a first step leaves when its runner dies between its answer ("wait for the window") and the start of
    // its workflow: the entry deferred, its place still admitted (a first step gives it back only after).
    await storeAdmitted(database, {
      id: "waited-alone",
      message: message(4, "deferred, then its runner died"),
      state: "deferred",
      nextAllowedAt: Date.now() + 500
    })
    suite.runtime = startDelivery(suite.emulator, database, { outbox: { stallMs: 300, sweepIntervalMs: 200 } })
    await waitFor(suite.runtime, "waited-alone", (entry) => entry.state === "sent")
    expect(inboxTexts(4)).toEqual(["deferred, then its runner died"])
    await expect.poll(() => admissionCounts(suite.runtime!)).toEqual({ waiting: 0, admitted: 0 })
  })

  it("picks deferred work up again after a restart", async () => {
    const database = await freshDatabase("sqlite")
    suite.runtime = startDelivery(suite.emulator, database)
    const first = await enqueue("before restart", 5, { idempotencyKey: "s1" })
    await waitFor(suite.runtime, first.entry.id, (entry) => entry.state === "sent")
    const second = await enqueue("after restart", 5, { idempotencyKey: "s2" })
    await waitFor(suite.runtime, second.entry.id, (entry) => entry.state === "deferred")
    await suite.runtime.dispose()
    suite.runtime = startDelivery(suite.emulator, database)
    await waitFor(suite.runtime, second.entry.id, (entry) => entry.state === "sent")
    expect(inboxTexts(5)).toEqual(["before restart", "after restart"])
  })
})
