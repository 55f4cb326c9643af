/**
 * Scenario 5's process: one delivery runner on PostgreSQL sending to the shared emulated portal.
 * Arguments: webhook URL, line code, database URL, first index, count, users (comma list), bucket
 * limit, drain per second, the total of all runners, seconds to wait. Enqueues its share, waits until
 * every runner's entries are settled (or the time is up), and prints `{"figures":{...}}`. Each runner
 * listens on a free port of 127.0.0.1 for the others (delivery's multi-runner layer).
 */
import { createServer } from "node:net"
import { Outbox } from "@linecast/delivery"
import { Effect, Redacted } from "effect"
import { makeDeliveryRuntime } from "../internal/deliveryRuntime.js"

const [
  webhookUrl = "",
  lineCode = "",
  url = "",
  first = "0",
  count = "0",
  userList = "",
  limit = "50",
  drain = "2",
  total = "0",
  wait = "60"
] = process.argv.slice(2)
const users = userList.split(",").map(Number)
/** A free port for this runner: taken, then released. */
const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
  })
})
const runtime = makeDeliveryRuntime({
  webhookUrl,
  database: { kind: "postgres", url: Redacted.make(url) },
  bucket: { limit: Number(limit), drainPerSecond: Number(drain) },
  runner: { host: "127.0.0.1", port }
})
const outbox = (use: (outbox: Outbox.Outbox.Service) => Effect.Effect<unknown, unknown>) =>
  runtime.runPromise(Effect.flatMap(Outbox.Outbox, use))

const started = performance.now()
const indexes = Array.from({ length: Number(count) }, (_, offset) => Number(first) + offset)
await outbox((box) =>
  Effect.forEach(
    indexes,
    (index) =>
      box.enqueue(
        { lineCode, userId: users[index % users.length]!, message: `bench ${index}` },
        { idempotencyKey: `runner-${index}`, portal: "demo" }
      ),
    { concurrency: 8, discard: true }
  )
)
const deadline = Date.now() + Number(wait) * 1000
let settled = 0
let dead = 0
while (Date.now() < deadline) {
  const entries = (await outbox((box) => box.list({ limit: 100_000 }))) as ReadonlyArray<{
    readonly state: string
    readonly idempotencyKey: string
  }>
  const mine = entries.filter((entry) => entry.idempotencyKey.startsWith("runner-"))
  settled = mine.filter((entry) => entry.state === "sent" || entry.state === "dead").length
  dead = mine.filter((entry) => entry.state === "dead").length
  if (settled >= Number(total)) break
  await new Promise((resolve) => setTimeout(resolve, 250))
}
process.stdout.write(
  `${JSON.stringify({ figures: { settled, dead, seconds: (performance.now() - started) / 1000 } })}\n`,
  () => process.exit(0)
)
