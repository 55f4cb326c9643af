/**
 * The CRM listener's benchmark (measures, asserts nothing), against a bare node:http handler that
 * answers 200 to every POST, in the same run on 127.0.0.1:
 * 1. events durably accepted per second at concurrency 32 (goal ≥ 0.5× the bare handler);
 * 2. p99 acknowledgement latency at 1,000 events a second, open loop (goal < 100 ms).
 * Run with `pnpm --filter @linecast/crm-webhook bench` (BENCH_EVENTS, BENCH_SECONDS to change the load).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { startPortalEmulator } from "@linecast/testkit"
import * as Qs from "qs"
import { startListener } from "../test/harness.js"

const events = Number(process.env.BENCH_EVENTS ?? 3000)
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const concurrency = 32

const emulator = await startPortalEmulator()
const applicationToken = "bench-application-token"
const listener = await startListener({ emulator, rules: { rules: [] }, applicationToken })
const bare = createServer((request, response) => {
  request.resume()
  request.on("end", () => response.end('{"status":"accepted"}'))
})
await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve))
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/bitrix/events`

let sequence = 0
const body = () =>
  Qs.stringify({
    event: "ONCRMDEALUPDATE",
    event_handler_id: "1",
    data: { FIELDS: { ID: String(++sequence) } },
    ts: String(Math.floor(Date.now() / 1000)),
    auth: { domain: emulator.control.info().domain, application_token: applicationToken, member_id: "bench" }
  })
const post = async (url: string) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: body()
  })
  await response.arrayBuffer()
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
}

const throughput = async (url: string) => {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < events) await post(url)
    })
  )
  return events / ((performance.now() - started) / 1000)
}

const latencies = async (url: string) => {
  const measured: Array<number> = []
  const pending: Array<Promise<void>> = []
  const total = seconds * 1000
  const started = performance.now()
  for (let index = 0; index < total; index++) {
    // Open loop: each event leaves at its own millisecond, whether earlier ones were answered or not.
    const due = started + index
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const sent = performance.now()
    pending.push(post(url).then(() => void measured.push(performance.now() - sent)))
  }
  await Promise.all(pending)
  measured.sort((left, right) => left - right)
  return { p50: measured[Math.floor(measured.length * 0.5)]!, p99: measured[Math.floor(measured.length * 0.99)]! }
}

await throughput(bareUrl)
await throughput(listener.eventsUrl)
const bareRate = await throughput(bareUrl)
const listenerRate = await throughput(listener.eventsUrl)
const ratio = listenerRate / bareRate
console.log(`bare node:http      ${bareRate.toFixed(0)} events/s`)
console.log(`listener (durable)  ${listenerRate.toFixed(0)} events/s`)
console.log(`ratio               ${ratio.toFixed(2)}x   goal >= 0.50x ${ratio >= 0.5 ? "met" : "MISSED"}`)
const latency = await latencies(listener.eventsUrl)
console.log(
  `ack latency at 1000 events/s: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms   goal p99 < 100 ms ${latency.p99 < 100 ? "met" : "MISSED"}`
)
const stored = (await listener.events()).length
console.log(`events stored: ${stored}`)

bare.close()
await listener.dispose()
await emulator.close()
