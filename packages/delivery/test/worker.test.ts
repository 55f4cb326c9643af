import { readdirSync, readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Either, Fiber, Layer, ManagedRuntime, Queue } from "effect"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import * as DeliveryWorker from "../src/DeliveryWorker.js"
import { Outbox } from "../src/Outbox.js"
import type { OutboxEntry } from "../src/OutboxEntry.js"
import { dropDatabases, freshDatabase } from "./harness.js"

let emulator: RunningPortalEmulator
beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(async () => {
  await emulator.close()
  await dropDatabases()
})

/** The outbox in this thread, delivery's runner in a worker thread, both on `database`. */
const start = (database: DeliveryDatabase.DatabaseOptions, portal: string, niceness?: number) =>
  ManagedRuntime.make(
    DeliveryWorker.layer({
      database,
      niceness,
      portals: {
        _tag: "Webhooks",
        portals: [{ id: portal, webhookUrl: emulator.control.info(portal).webhookUrls[0]!, timeout: 2_000 }]
      },
      delivery: {
        ledger: { exemptPortals: [portal] },
        retries: { heldRetryMs: 100, retryDelaysMs: [100, 200, 400], reconcileAttempts: 3 },
        sharding: {
          entityMessagePollInterval: "100 millis",
          entityTerminationTimeout: "1 second",
          shardLockDisableAdvisory: database.kind === "postgres"
        }
      }
    }).pipe(Layer.provideMerge(DeliveryDatabase.layer(database)))
  )

const enqueue = (
  runtime: ManagedRuntime.ManagedRuntime<Outbox, unknown>,
  portal: string,
  from: number,
  count: number
) =>
  runtime.runPromise(
    Effect.flatMap(Outbox, (outbox) =>
      outbox.enqueueMany(
        Array.from({ length: count }, (_, index) => ({
          message: {
            lineCode: emulator.control.info(portal).lineCodes[0]!,
            userId: from + index + 1,
            message: `m${from + index}`
          },
          options: { portal, idempotencyKey: `k${from + index}` }
        }))
      )
    )
  )

const settled = async (runtime: ManagedRuntime.ManagedRuntime<Outbox, unknown>, count: number) => {
  const deadline = Date.now() + 60_000
  let entries: ReadonlyArray<OutboxEntry> = []
  while (Date.now() < deadline) {
    entries = await runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.list({ state: ["sent"] })))
    if (entries.length >= count) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return entries
}

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`delivery's runner in a worker thread, on ${kind}`, () => {
    it("sends what this thread enqueues, each message once, and picks work up again after a stop", async () => {
      const portal = `worker-${kind}`
      emulator.control.createPortal({
        id: portal,
        nfr: true,
        users: Array.from({ length: 80 }, (_, index) => ({ id: index + 1, name: `User ${index + 1}` })),
        webhooks: [{ userId: 1 }],
        lines: [{}]
      })
      const database = await freshDatabase(kind)
      const first = start(database, portal)
      await enqueue(first, portal, 0, 40)
      // Stopped at once: whatever the worker had not sent waits in the database for the next start.
      await first.dispose()
      const second = start(database, portal)
      await enqueue(second, portal, 40, 40)
      const sent = await settled(second, 80)
      await second.dispose()
      expect(sent.length).toBe(80)
      const texts = emulator.control.inbox(portal).map((message) => message.message)
      expect(new Set(texts).size).toBe(80)
      expect(texts.length).toBe(80)
    })
  })
}

describe("delivery's worker, its changes", () => {
  it("tells this thread's outbox of the entries the worker saved", async () => {
    const portal = "worker-changes"
    emulator.control.createPortal({
      id: portal,
      nfr: true,
      users: Array.from({ length: 5 }, (_, index) => ({ id: index + 1, name: `User ${index + 1}` })),
      webhooks: [{ userId: 1 }],
      lines: [{}]
    })
    const runtime = start(await freshDatabase("sqlite"), portal)
    const heard = new Set<string>()
    // Listening from before the enqueue: the sends happen in the worker thread, and only its messages can say so.
    const listening = runtime.runFork(
      Effect.scoped(
        Effect.flatMap(
          Effect.flatMap(Outbox, (outbox) => outbox.changes),
          (changes) => Effect.forever(Effect.map(Queue.take(changes), (id) => heard.add(id)))
        )
      )
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    const stored = await enqueue(runtime, portal, 0, 5)
    const sent = await settled(runtime, 5)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await runtime.runPromise(Fiber.interrupt(listening))
    await runtime.dispose()
    expect(sent.length).toBe(5)
    const ids = stored.map((result) => (Either.isRight(result) ? result.right.entry.id : "refused"))
    expect([...heard].sort()).toEqual(expect.arrayContaining([...ids].sort()))
  })
})

/** The nice value of each thread of this process (Linux), by thread id. */
const niceOfThreads = () =>
  new Map(
    readdirSync("/proc/self/task").map((id) => {
      const stat = readFileSync(`/proc/self/task/${id}/stat`, "utf8")
      // The fields after the command's closing parenthesis; the nice value is the 19th field of the line.
      return [id, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])] as const
    })
  )

describe.runIf(process.platform === "linux")("delivery's worker, its priority", () => {
  it("runs the worker thread at the niceness asked and leaves this thread's as it was", async () => {
    const portal = "worker-nice"
    emulator.control.createPortal({
      id: portal,
      nfr: true,
      users: [{ id: 1, name: "User 1" }],
      webhooks: [{ userId: 1 }],
      lines: [{}]
    })
    const ownNice = () => Number(readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1]!.split(" ")[16])
    const before = ownNice()
    const niceness = before + 3
    const earlier = new Set(niceOfThreads().keys())
    const runtime = start(await freshDatabase("sqlite"), portal, niceness)
    await enqueue(runtime, portal, 0, 1)
    const started = [...niceOfThreads()].filter(([id]) => !earlier.has(id))
    await runtime.dispose()
    expect(started.map(([, nice]) => nice)).toContain(niceness)
    expect(ownNice()).toBe(before)
  })

  it("refuses a niceness outside 0 to 19 with a typed error", async () => {
    const runtime = ManagedRuntime.make(
      DeliveryWorker.layer({
        database: { kind: "sqlite", filename: ":memory:" },
        portals: { _tag: "Webhooks", portals: [{ id: "x", webhookUrl: "http://127.0.0.1:9/rest/1/abc/" }] },
        niceness: 25
      }).pipe(Layer.provideMerge(DeliveryDatabase.layer({ kind: "sqlite", filename: ":memory:" })))
    )
    const error = await runtime.runPromise(Effect.void).then(
      () => undefined,
      (failure: unknown) => failure
    )
    await runtime.dispose()
    expect(String(error)).toMatch(/DeliveryWorkerError.*niceness must be a whole number from 0 to 19, not 25/s)
  })
})

describe("delivery's worker, bad settings", () => {
  it("fails to start with a typed error that names no secret", async () => {
    const runtime = ManagedRuntime.make(
      DeliveryWorker.layer({
        database: { kind: "sqlite", filename: ":memory:" },
        portals: { _tag: "Webhooks", portals: [{ id: "x", webhookUrl: "not a url/secret-code-123" }] }
      }).pipe(Layer.provideMerge(DeliveryDatabase.layer({ kind: "sqlite", filename: ":memory:" })))
    )
    const error = await runtime.runPromise(Effect.void).then(
      () => undefined,
      (failure: unknown) => failure
    )
    await runtime.dispose()
    expect(String(error)).toMatch(/DeliveryWorkerError|could not start/)
    expect(String(error)).not.toContain("secret-code-123")
  })
})
