/**
 * Delivery's portal entities (packages/delivery, issue "delivery"): how much of a portal's budget
 * delivery uses, what batch packing buys, and messages per second across 200 portals on one runner.
 * Everything goes through the real outbox, workflows and portal entities on SQLite, with delivery's
 * runner in a worker thread (`DeliveryWorker`) and the emulated portals in the bench's own thread, as
 * a real portal is on another machine; they are partner (NFR) portals, so the weekly rule stays out of
 * the figures.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DeliveryDatabase, DeliveryWorker, Outbox } from "@linecast/delivery"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Layer, ManagedRuntime } from "effect"
import type { Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

interface Bucket {
  readonly limit: number
  readonly drainPerSecond: number
}

interface Bench {
  readonly emulator: RunningPortalEmulator
  readonly portals: ReadonlyArray<{ readonly id: string; readonly lineCode: string }>
  readonly outbox: <A, E>(use: (outbox: Outbox.Outbox.Service) => Effect.Effect<A, E>) => Promise<A>
  readonly close: () => Promise<void>
}

/** `count` NFR portals with `users` users each, and delivery over SQLite with one channel (and budget) per portal. */
const start = async (options: {
  readonly count: number
  readonly users: number
  readonly bucket: Bucket
  readonly maxBatch: number
}): Promise<Bench> => {
  const emulator = await startPortalEmulator()
  const portals = Array.from({ length: options.count }, (_, index) =>
    emulator.control.createPortal({
      id: `bench-${index + 1}`,
      nfr: true,
      users: Array.from({ length: options.users }, (_, user) => ({ id: user + 1, name: `User ${user + 1}` })),
      webhooks: [{ userId: 1 }],
      lines: [{}],
      bucket: options.bucket
    })
  )
  const folder = mkdtempSync(join(tmpdir(), "linecast-bench-portals-"))
  const database = { kind: "sqlite", filename: join(folder, "bench.sqlite") } as const
  // Delivery's runner in a worker thread: the emulated portals (on another machine in real life) keep this one.
  const runtime = ManagedRuntime.make(
    DeliveryWorker.layer({
      database,
      portals: {
        _tag: "Webhooks",
        portals: portals.map((portal) => ({
          id: portal.id,
          webhookUrl: portal.webhookUrls[0]!,
          bucket: options.bucket,
          timeout: 30_000
        }))
      },
      delivery: {
        ledger: { exemptPortals: portals.map((portal) => portal.id) },
        portals: { maxBatch: options.maxBatch },
        sharding: { entityMessagePollInterval: "100 millis", entityTerminationTimeout: "1 second" }
      }
    }).pipe(Layer.provideMerge(DeliveryDatabase.layer(database)))
  )
  await runtime.runPromise(Effect.void)
  return {
    emulator,
    portals: portals.map((portal) => ({ id: portal.id, lineCode: portal.lineCodes[0]! })),
    outbox: (use) => runtime.runPromise(Effect.flatMap(Outbox.Outbox, use)),
    close: async () => {
      await runtime.dispose()
      await emulator.close()
      rmSync(folder, { recursive: true, force: true })
    }
  }
}

const enqueueMany = (bench: Bench, perPortal: number, users: number, tag: string) =>
  bench.outbox((outbox) =>
    Effect.forEach(
      bench.portals.flatMap((portal) =>
        Array.from({ length: perPortal }, (_, index) => ({ portal, index, userId: (index % users) + 1 }))
      ),
      ({ portal, index, userId }) =>
        outbox.enqueue(
          { lineCode: portal.lineCode, userId, message: `${tag} ${portal.id} ${index}` },
          { portal: portal.id, idempotencyKey: `${tag}/${portal.id}/${index}` }
        ),
      { concurrency: 32, discard: true }
    )
  )

const sum = (bench: Bench, read: (counters: ReturnType<RunningPortalEmulator["control"]["counters"]>) => number) =>
  bench.portals.reduce((total, portal) => total + read(bench.emulator.control.counters(portal.id)), 0)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Messages per second over a steady stretch, from the emulator's own arrival times: `(n - 1)` gaps
 * between the first and the last message that arrived after `from` (Unix ms) and before `to`.
 */
const arrivalRate = (bench: Bench, from: number, to: number) => {
  const times = bench.portals
    .flatMap((portal) => bench.emulator.control.inbox(portal.id).map((message) => message.receivedAt))
    .filter((at) => at >= from && at <= to)
    .sort((a, b) => a - b)
  const first = times[0]
  const last = times[times.length - 1]
  if (first === undefined || last === undefined || last === first) return 0
  // What arrived after the first call (a batch's messages arrive together), over the time since it.
  return (times.filter((at) => at > first).length * 1000) / (last - first)
}

/** Waits until the portal took its first burst (the bucket's size) and a second more. */
const pastBurst = async (bench: Bench, bucket: Bucket) => {
  const deadline = Date.now() + 30_000
  while (sum(bench, (counters) => counters.accepted) < bucket.limit && Date.now() < deadline) await sleep(50)
  await sleep(1_000)
}

/** The budget scenario's bucket: Enterprise's drain (5/s) with a smaller bucket, so the burst passes quickly. */
const budgetBucket: Bucket = { limit: 20, drainPerSecond: 5 }

export const portalBudget: Scenario = {
  id: "d1",
  title: "Delivery: share of one portal's budget used (bucket 20, 5/s)",
  description: ({ quick }) =>
    `A backlog far larger than the portal takes, sent through the outbox with batch packing off (one message a ` +
    `request); once the bucket's first burst is spent, the rate at which messages arrive (from the emulator's ` +
    `arrival times, over ${quick ? 4 : 12} s) against the portal's drain, 5/s. Ideal: 100 %, and no ` +
    `QUERY_LIMIT_EXCEEDED.`,
  figures: [
    { key: "share", label: "budget used", unit: "%" },
    { key: "rejected", label: "QUERY_LIMIT_EXCEEDED answers", unit: "" }
  ],
  goals: [{ figure: "share", comparison: ">=", target: 98, source: "delivery" }],
  repetitions: ({ quick }) => (quick ? 1 : 3),
  run: async ({ quick }) => {
    const seconds = quick ? 4 : 12
    const backlog = budgetBucket.limit + budgetBucket.drainPerSecond * (seconds + 6)
    const bench = await start({ count: 1, users: backlog, bucket: budgetBucket, maxBatch: 1 })
    try {
      await enqueueMany(bench, backlog, backlog, "budget")
      await pastBurst(bench, budgetBucket)
      const from = Date.now()
      await sleep(seconds * 1000)
      const share = (arrivalRate(bench, from, Date.now()) / budgetBucket.drainPerSecond) * 100
      return figures({ share, rejected: sum(bench, (counters) => counters.rejected.QUERY_LIMIT_EXCEEDED ?? 0) })
    } finally {
      await bench.close()
    }
  }
}

/** Bitrix24's bucket, slowed to 1/s so that one runner's delivery keeps up with 50 messages a call. */
const packingBucket: Bucket = { limit: 5, drainPerSecond: 1 }

const packedRate = async (maxBatch: number, seconds: number, backlog: number) => {
  const bench = await start({ count: 1, users: backlog, bucket: packingBucket, maxBatch })
  try {
    await enqueueMany(bench, backlog, backlog, `packing-${maxBatch}`)
    await pastBurst(bench, packingBucket)
    const from = Date.now()
    await sleep(seconds * 1000)
    return arrivalRate(bench, from, Date.now())
  } finally {
    await bench.close()
  }
}

export const portalPacking: Scenario = {
  id: "d2",
  title: "Delivery: batch packing vs one message a call (bucket 5, 1/s)",
  description: ({ quick }) =>
    `A backlog sent through the outbox to one portal whose bucket drains 1 request a second, with packing on (up to ` +
    `50 messages a \`batch\` call) and off; the arrival rate over ${quick ? 4 : 12} s once the first burst is spent. ` +
    `Ideal: 50 msg/s against 1 msg/s (50×); packed, the runner's CPU (a durable workflow per message) may be the limit.`,
  figures: [
    { key: "packed", label: "with batch packing", unit: "msg/s" },
    { key: "single", label: "one message a call", unit: "msg/s" },
    { key: "ratio", label: "packed / single", unit: "×" }
  ],
  goals: [{ figure: "ratio", comparison: ">=", target: 40, source: "delivery" }],
  repetitions: ({ quick }) => (quick ? 1 : 3),
  run: async ({ quick }) => {
    const seconds = quick ? 4 : 12
    const packed = await packedRate(50, seconds, 60 * (seconds + 6))
    const single = await packedRate(1, seconds, packingBucket.limit + seconds + 8)
    return figures({ packed, single, ratio: packed / single })
  }
}

export const manyPortals: Scenario = {
  id: "d3",
  title: "Delivery: messages per second across 200 portals on one runner",
  description: ({ quick }) =>
    `${quick ? 50 : 200} emulated portals (bucket 50, 2/s each), ${quick ? 2 : 5} messages to each, all enqueued at ` +
    `once on one runner (SQLite): messages delivered per second until the last one arrived. Reported; the limit is ` +
    `the runner's CPU (each message is a durable workflow), not the portals.`,
  figures: [
    { key: "perSecond", label: "delivered", unit: "msg/s" },
    { key: "rejected", label: "QUERY_LIMIT_EXCEEDED answers", unit: "" }
  ],
  goals: [],
  repetitions: () => 1,
  run: async ({ quick, log }) => {
    const count = quick ? 50 : 200
    const each = quick ? 2 : 5
    const bench = await start({ count, users: each, bucket: { limit: 50, drainPerSecond: 2 }, maxBatch: 50 })
    try {
      const startedAt = performance.now()
      await enqueueMany(bench, each, each, "portals")
      const total = count * each
      const deadline = Date.now() + 120_000
      while (sum(bench, (counters) => counters.accepted) < total && Date.now() < deadline) await sleep(50)
      const delivered = sum(bench, (counters) => counters.accepted)
      const elapsed = (performance.now() - startedAt) / 1000
      log(`  ${delivered}/${total} delivered in ${elapsed.toFixed(1)} s`)
      if (delivered < total) {
        const stuck = await bench.outbox((outbox) =>
          outbox.list({ state: ["queued", "sending", "deferred", "ambiguous", "dead"], limit: 5 })
        )
        log(`  not sent: ${JSON.stringify(stuck.map((entry) => [entry.state, entry.attempts, entry.lastError?.code]))}`)
      }
      return figures(
        {
          perSecond: delivered / elapsed,
          rejected: sum(bench, (counters) => counters.rejected.QUERY_LIMIT_EXCEEDED ?? 0)
        },
        delivered < total ? [`only ${delivered} of ${total} arrived within 120 s`] : undefined
      )
    } finally {
      await bench.close()
    }
  }
}
