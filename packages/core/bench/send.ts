/**
 * Core's benchmark (measures, asserts nothing): N sends against the emulator with no limit, core vs a
 * plain `fetch` loop in the same run, at concurrency 32 (BENCH_ROUNDS rounds, alternating, median ratio); then `sendMany` (batch) vs single sends under
 * the real 50/2 bucket for a fixed time. Run with `pnpm --filter @linecast/core bench`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Layer, ManagedRuntime } from "effect"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "../src/index.js"

const sends = Number(process.env.BENCH_SENDS ?? 4000)
const concurrency = 32
const windowSeconds = Number(process.env.BENCH_WINDOW_SECONDS ?? 10)

const emulator = await startPortalEmulator()
emulator.control.configure("demo", { nfr: true, bucket: { limit: 1_000_000_000, drainPerSecond: 1_000_000 } })
const message = (index: number) => ({ lineCode: emulator.lineCode, userId: (index % 6) + 1, message: `bench ${index}` })

const channel = (budget: Layer.Layer<RateBudget.RateBudget>) =>
  ManagedRuntime.make(
    Layer.unwrapEffect(
      Effect.map(PortalAuth.webhook(emulator.webhookUrl), (auth) =>
        OpenChannel.layer({ auth, retry: RetryPolicy.defaultPolicy })
      )
    ).pipe(Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, budget, TokenStore.layerMemory())))
  )

const pool = async (count: number, task: (index: number) => Promise<unknown>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++)
    })
  )
}

const rate = async (label: string, run: () => Promise<void>) => {
  const started = performance.now()
  await run()
  const perSecond = sends / ((performance.now() - started) / 1000)
  console.log(`${label}: ${perSecond.toFixed(0)} sends/s`)
  return perSecond
}

const unlimited = channel(RateBudget.layerUnlimited)
// Warm both paths (connections, JIT) before measuring.
await pool(200, (index) => unlimited.runPromise(Effect.flatMap(OpenChannel.OpenChannel, (c) => c.send(message(index)))))
const url = `${emulator.webhookUrl}imopenlines.network.message.add.json`
const plain = (index: number) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ CODE: emulator.lineCode, USER_ID: (index % 6) + 1, MESSAGE: `bench ${index}` })
  }).then((response) => response.json())
await pool(200, plain)

// Several rounds, the order alternating, so that neither side always runs on a warmer (or busier) machine;
// the ratio reported is the median of the rounds' ratios.
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const coreSend = (index: number) =>
  unlimited.runPromise(Effect.flatMap(OpenChannel.OpenChannel, (c) => c.send(message(index))))
const ratios: Array<number> = []
for (let round = 0; round < rounds; round++) {
  const fetchFirst = round % 2 === 0
  const first = await rate(fetchFirst ? "plain fetch" : "core send  ", () => pool(sends, fetchFirst ? plain : coreSend))
  const second = await rate(fetchFirst ? "core send  " : "plain fetch", () =>
    pool(sends, fetchFirst ? coreSend : plain)
  )
  const ratio = fetchFirst ? second / first : first / second
  ratios.push(ratio)
  console.log(`  round ${round + 1}: core / fetch = ${ratio.toFixed(2)}`)
}
const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!
console.log(`core / fetch = ${median.toFixed(2)} (median of ${rounds} rounds; goal ≥ 0.85)`)
await unlimited.dispose()

// Under the real 50/2 bucket: how many messages reach the portal in a fixed window.
const inWindow = async (
  label: string,
  run: (runtime: ReturnType<typeof channel>, until: number) => Promise<number>
) => {
  emulator.control.reset()
  emulator.control.configure("demo", { nfr: true, bucket: { limit: 50, drainPerSecond: 2 } })
  const runtime = channel(RateBudget.layer({ limit: 50, drainPerSecond: 2 }))
  const started = Date.now()
  const sent = await run(runtime, started + windowSeconds * 1000)
  await runtime.dispose()
  const perSecond = sent / ((Date.now() - started) / 1000)
  console.log(`${label}: ${perSecond.toFixed(1)} messages/s under 50/2 (${sent} in ${windowSeconds} s)`)
  return perSecond
}
const single = await inWindow("single calls", async (runtime, until) => {
  let sent = 0
  await pool(Number.MAX_SAFE_INTEGER, async (index) => {
    if (Date.now() >= until) throw new Error("window over")
    await runtime.runPromise(Effect.flatMap(OpenChannel.OpenChannel, (c) => c.send(message(index))))
    if (Date.now() <= until) sent++
  }).catch(() => undefined)
  return sent
})
const batched = await inWindow("sendMany   ", async (runtime, until) => {
  let sent = 0
  let index = 0
  while (Date.now() < until) {
    const batch = Array.from({ length: 50 }, () => message(index++))
    const outcomes = await runtime.runPromise(Effect.flatMap(OpenChannel.OpenChannel, (c) => c.sendMany(batch)))
    if (Date.now() <= until) sent += outcomes.filter((outcome) => outcome._tag === "Right").length
  }
  return sent
})
console.log(`batch / single = ${(batched / single).toFixed(1)}× (goal ≥ 40×)`)
await emulator.close()
