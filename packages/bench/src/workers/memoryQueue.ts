/**
 * Scenario 8's process: enqueues COUNT messages through delivery's outbox on SQLite, then reports its
 * own memory as one JSON line on stdout and exits. MODE `engine`: the whole `Delivery.layer` with the
 * portal unreachable (every message's workflow starts, fails once, waits); MODE `outbox`: the outbox
 * with a workflow engine that runs nothing (what the queue itself holds). Run by `scenarios/memory.ts`
 * with `--expose-gc`, so that the figure is what stays held, not garbage not yet collected.
 */
import { createServer } from "node:net"
import { DeliveryDatabase, Outbox, OutboxStore, PendingStarts, WeeklyLedger } from "@linecast/delivery"
import { Effect, Layer, ManagedRuntime } from "effect"
import { makeDeliveryRuntime } from "../internal/deliveryRuntime.js"
import { layerInertWorkflowEngine } from "../internal/inertWorkflowEngine.js"

const mode = process.argv[2] === "engine" ? "engine" : "outbox"
const count = Number(process.argv[3] ?? 100_000)
/** The SQLite file; its folder is the parent's to remove, even when this process is killed. */
const filename = process.argv[4] ?? ""
const concurrency = 64

/** A port nothing listens on: taken, then released. */
const closedPort = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
  })
})

let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 100)
const database: DeliveryDatabase.DatabaseOptions = { kind: "sqlite", filename }
const runtime =
  mode === "engine"
    ? makeDeliveryRuntime({
        webhookUrl: `http://127.0.0.1:${closedPort}/rest/1/benchunreachable/`,
        database,
        // The portal stays down: one failed attempt, then a long durable wait, as an outage looks.
        retries: { retryDelaysMs: [3_600_000] }
      })
    : ManagedRuntime.make(
        Outbox.layer.pipe(
          Layer.provide(layerInertWorkflowEngine),
          Layer.provide(
            WeeklyLedger.layer().pipe(Layer.provideMerge(OutboxStore.layer), Layer.provideMerge(PendingStarts.layer))
          ),
          Layer.provide(DeliveryDatabase.layer(database))
        )
      )
const started = performance.now()
let next = 0
await runtime.runPromise(
  Effect.flatMap(Outbox.Outbox, (outbox) =>
    Effect.all(
      Array.from({ length: concurrency }, () =>
        Effect.suspend(function loop(): Effect.Effect<void, unknown> {
          const index = next++
          if (index >= count) return Effect.void
          return outbox
            .enqueue(
              { lineCode: "0123456789abcdef0123456789abcdef", userId: (index % 1000) + 1, message: `queued ${index}` },
              { idempotencyKey: `memory-${index}`, portal: "demo" }
            )
            .pipe(Effect.flatMap(loop))
        })
      ),
      { concurrency: "unbounded", discard: true }
    )
  )
)
const seconds = (performance.now() - started) / 1000
const queued = await runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({})))
// Let what enqueue started settle, then collect, so that the figure is what the queue holds.
await new Promise((resolve) => setTimeout(resolve, 2_000))
globalThis.gc?.()
const memory = process.memoryUsage()
clearInterval(sampler)
process.stdout.write(
  `${JSON.stringify({
    figures: {
      queued,
      enqueuedPerSecond: count / seconds,
      rssMb: memory.rss / 2 ** 20,
      heapUsedMb: memory.heapUsed / 2 ** 20,
      peakRssMb: Math.max(peakRss, memory.rss) / 2 ** 20
    }
  })}\n`,
  // Not disposed: with the engine, shutting thousands of waiting workflows down takes minutes, and
  // this process exists only to be measured.
  () => process.exit(0)
)
