/**
 * Scenario 2's delivery process, apart so that nothing it leaves running can touch the other clients'
 * windows. Arguments: webhook URL, line code, users (comma list), bucket limit, drain per second,
 * backlog, the SQLite file (its folder is the parent's to remove). Warms up (one message sent),
 * prints `{"ready":true}`, then hands the backlog to the outbox at once; the parent reads the
 * portal's counters at the window's end and ends this process.
 */
import { Outbox } from "@linecast/delivery"
import { Effect } from "effect"
import { text } from "../internal/clients.js"
import { makeDeliveryRuntime } from "../internal/deliveryRuntime.js"

const [webhookUrl = "", lineCode = "", userList = "", limit = "50", drain = "2", backlog = "100", filename = ""] =
  process.argv.slice(2)
const users = userList.split(",").map(Number)
const runtime = makeDeliveryRuntime({
  webhookUrl,
  database: { kind: "sqlite", filename },
  bucket: { limit: Number(limit), drainPerSecond: Number(drain) }
})
const outbox = <A>(use: (outbox: Outbox.Outbox.Service) => Effect.Effect<A, unknown>) =>
  runtime.runPromise(Effect.flatMap(Outbox.Outbox, use))

// One message through first, so that the runner holds its shards before the window opens.
const { entry } = await outbox((box) =>
  box.enqueue({ lineCode, userId: users[0]!, message: "warm-up" }, { idempotencyKey: "warm-up", portal: "demo" })
)
const deadline = Date.now() + 30_000
while ((await outbox((box) => box.get(entry.id))).state !== "sent" && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 50))
}
// The parent resets the emulator on this line and reads its counters at the window's end.
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
await outbox((box) =>
  Effect.forEach(
    Array.from({ length: Number(backlog) }, (_, index) => index),
    (index) =>
      box.enqueue(
        { lineCode, userId: users[index % users.length]!, message: text(index) },
        { idempotencyKey: `rate-${index}`, portal: "demo" }
      ),
    { concurrency: 16, discard: true }
  )
)
// Kept alive, sending, until the parent has read the window's figures and ends this process.
setInterval(() => undefined, 3_600_000)
