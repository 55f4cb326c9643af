// Scratch micro-measure (not a test): CPU per message of enqueue vs enqueueMany, workflows held.
import { startPortalEmulator } from "@linecast/testkit"
import { Effect } from "effect"
import { Outbox } from "../src/Outbox.js"
import { freshDatabase, startDelivery } from "./harness.js"

const emulator = await startPortalEmulator()
const count = Number(process.env.COUNT ?? 3000)
const batch = Number(process.env.BATCH ?? 100)
const modes = (process.env.MODES ?? "one,many").split(",")
const message = (userId: number, text: string) => ({ lineCode: emulator.lineCode, userId, message: text })

const cpu = async (label: string, run: () => Promise<void>) => {
  const before = process.cpuUsage()
  const started = performance.now()
  await run()
  const used = process.cpuUsage(before)
  const ms = (used.user + used.system) / 1000
  console.log(`${label.padEnd(28)} ${(ms / count).toFixed(3)} ms CPU a message, ${((performance.now() - started) / count).toFixed(3)} ms wall`)
}

for (const round of [0, 1]) {
  for (const mode of modes) {
    const runtime = startDelivery(emulator, await freshDatabase("sqlite"), { outbox: { admittedPerPortal: 0 } })
    await runtime.runPromise(Effect.void)
    const prefix = `${mode}-${round}`
    if (mode === "one") {
      await cpu(`enqueue ${round === 0 ? "(warm-up)" : ""}`, async () => {
        await runtime.runPromise(
          Effect.flatMap(Outbox, (outbox) =>
            Effect.forEach(Array.from({ length: count }, (_, index) => index), (index) =>
              outbox.enqueue(message(100 + (index % 60), `bench [b]${index}[/b]`), { portal: "demo", idempotencyKey: `${prefix}-${index}` }), { discard: true })
          )
        )
      })
    } else {
      await cpu(`enqueueMany ×${batch} ${round === 0 ? "(warm-up)" : ""}`, async () => {
        await runtime.runPromise(
          Effect.flatMap(Outbox, (outbox) =>
            Effect.forEach(Array.from({ length: count / batch }, (_, index) => index), (chunk) =>
              (outbox as any).enqueueMany(
                Array.from({ length: batch }, (_, offset) => {
                  const index = chunk * batch + offset
                  return { message: message(100 + (index % 60), `bench [b]${index}[/b]`), options: { portal: "demo", idempotencyKey: `${prefix}-${index}` } }
                })
              ), { discard: true })
          )
        )
      })
    }
    await runtime.dispose()
  }
}
await emulator.close()
process.exit(0)
