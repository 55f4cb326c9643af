/**
 * Scenario 8's process: the whole of delivery (`Delivery.layer`: outbox, admission, cluster engine,
 * workflows, portal entity) on SQLite with its portal unreachable, as in an outage; enqueues COUNT
 * messages, then reports its own memory as one JSON line on stdout and exits. Run by
 * `scenarios/memory.ts` from a bundle with `--expose-gc`, so that the figure is what stays held, not
 * garbage not yet collected.
 */
import { createServer } from "node:net"
import { Admission, Outbox } from "@linecast/delivery"
import { Effect } from "effect"
import { makeDeliveryRuntime } from "../internal/deliveryRuntime.js"

const count = Number(process.argv[2] ?? 100_000)
/** The SQLite file; its folder is the parent's to remove, even when this process is killed. */
const filename = process.argv[3] ?? ""
const concurrency = 64

/** A port nothing listens on: taken, then released. */
const closedPort = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
  })
})

const mb = (bytes: number) => bytes / 2 ** 20
let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 100)
const runtime = makeDeliveryRuntime({
  webhookUrl: `http://127.0.0.1:${closedPort}/rest/1/benchunreachable/`,
  database: { kind: "sqlite", filename },
  // The portal stays down: each admitted message fails once, then waits long, as an outage looks.
  retries: { retryDelaysMs: [3_600_000] },
  // The engine as a deployment runs it (its own defaults), not polled every 100 ms as short benches do.
  sharding: {}
})
await runtime.runPromise(Effect.void)
await new Promise((resolve) => setTimeout(resolve, 1_000))
globalThis.gc?.()
const idleRss = process.memoryUsage().rss

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
// Let the admitted workflows fail their first attempt and settle into their wait, and the engine put the
// idle ones away (its `entityMaxIdleTime`, 1 minute), as in an outage that lasts; then collect.
await new Promise((resolve) => setTimeout(resolve, 65_000))
const queued = await runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({})))
const admission = await runtime.runPromise(Effect.flatMap(Admission.Admission, (admission) => admission.counts))
globalThis.gc?.()
const memory = process.memoryUsage()
clearInterval(sampler)
process.stdout.write(
  `${JSON.stringify({
    figures: {
      queued,
      admitted: admission.admitted,
      waiting: admission.waiting,
      enqueuedPerSecond: count / seconds,
      idleRssMb: mb(idleRss),
      rssMb: mb(memory.rss),
      growthMb: mb(memory.rss - idleRss),
      heapUsedMb: mb(memory.heapUsed),
      heapTotalMb: mb(memory.heapTotal),
      externalMb: mb(memory.external),
      peakRssMb: mb(Math.max(peakRss, memory.rss))
    }
  })}\n`,
  // Not disposed: this process exists only to be measured.
  () => process.exit(0)
)
