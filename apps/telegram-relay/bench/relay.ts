/**
 * The relay's benchmark (measures, asserts nothing): updates per second through the whole relay
 * (access, conversion, the durable outbox, the send to the portal emulator, the outcome reply) vs a
 * bare grammY bot that only replies, both on the Telegram emulator with the runner, in the same run.
 * The portal is NFR with no bucket limit and core's bucket is off, so the weekly rule and Bitrix24's
 * 2 requests a second stay out of it: what is measured is the relay's own cost.
 * Run with `pnpm --filter @linecast/telegram-relay bench`; BENCH_UPDATES, BENCH_CHATS to change the load.
 */
import { run } from "@grammyjs/runner"
import { startPortalEmulator, startTelegramEmulator } from "@linecast/testkit"
import { Redacted } from "effect"
import { Bot } from "grammy"
import { operator, startTestRelay } from "../test/harness.js"

const updates = Number(process.env.BENCH_UPDATES ?? 600)
const chats = Number(process.env.BENCH_CHATS ?? 60)
const users = 60

const telegram = await startTelegramEmulator()
const portal = await startPortalEmulator()
portal.control.configure("demo", { nfr: true, bucket: { limit: 1_000_000_000, drainPerSecond: 1_000_000 } })
for (let id = 100; id < 100 + users; id++) portal.control.portal("demo").addUser({ id, name: `User ${id}` })

/** Injects the load from `chats` operators at once and waits for one reply per update. */
const measure = async (label: string): Promise<number> => {
  telegram.control.reset()
  const started = performance.now()
  for (let index = 0; index < updates; index++) {
    const chat = operator + (index % chats)
    telegram.control.sendCommand({ user: chat }, "send", `${100 + (index % users)} bench [b]${index}[/b]`)
  }
  const deadline = Date.now() + 120_000
  while (telegram.control.sent().filter((sent) => sent.method === "sendMessage").length < updates) {
    if (Date.now() > deadline) throw new Error(`${label}: timed out`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const perSecond = updates / ((performance.now() - started) / 1000)
  process.stdout.write(`${label.padEnd(28)} ${perSecond.toFixed(0).padStart(6)} updates/s\n`)
  return perSecond
}

const bare = new Bot(telegram.token, { botInfo: telegram.botInfo, client: { apiRoot: telegram.apiRoot } })
bare.on("message", (ctx) => ctx.reply("ok"))
const bareRunner = run(bare)
await measure("bare grammY bot (warm-up)")
const bareRate = await measure("bare grammY bot")
await bareRunner.stop()

const operators = Array.from({ length: chats }, (_, index) => operator + index)
const relay = await startTestRelay({
  telegram,
  portal,
  nfr: true,
  budget: "unlimited",
  options: {
    operators,
    outcomeWaitMs: Number(process.env.BENCH_OUTCOME_WAIT_MS ?? 30_000),
    followUpPollMs: 60_000,
    media: { secret: Redacted.make("bench"), ttlSeconds: 60, maxBytes: 1 }
  }
})
await measure("relay (warm-up)")
const relayRate = await measure("relay")
await relay.stop()

process.stdout.write(`relay / bare: ${(relayRate / bareRate).toFixed(2)}x (goal >= 0.7x)\n`)
await telegram.close()
await portal.close()
