/**
 * Scenario 7: updates per second through the Telegram relay against a bare grammY bot, measured by
 * the app's own bench (apps/telegram-relay/bench/relay.ts) in a child process.
 */
import { runAppBench } from "../internal/appBench.js"
import type { Scenario } from "../Scenario.js"

export const relay: Scenario = {
  id: "7",
  title: "Telegram relay vs bare grammY",
  description: ({ quick }) =>
    "Updates (`/send <user> <text>` from 60 chats) injected into the Telegram emulator; the relay takes each through " +
    "access, conversion, the durable outbox (SQLite) and its report row, and answers, while delivery sends to the " +
    "portal emulator in the same process (Bitrix24's bucket, 50 draining 2/s; NFR, so everything is sent); the bare " +
    "grammY bot (same runner settings) only replies. The two take turns (bare, held, bare, relay, bare, relay, ..., " +
    "bare: seven relay cycles, one in a quick run), each relay cycle against the mean of the bare cycles around it, " +
    "and the ratio is the median of those: this machine's speed drifts by a third within minutes. Also the relay with " +
    "delivery's workflows held (the relay's own path), the process's CPU time per update answered, and how much " +
    "of the round the main thread was ready but waited for a core (Linux), and what delivery sent meanwhile (the messages, " +
    "and the other threads' CPU each: delivery's worker and V8's threads), and the main thread's CPU an update with " +
    "its ratio, bare over relay: what the rates' ratio would be if neither thread waited, far steadier than it. Run by " +
    "apps/telegram-relay's own bench " +
    `(\`pnpm --filter @linecast/telegram-relay bench -- --json${quick ? " --quick" : ""}\`). Ideal: 1.0×.`,
  figures: [
    { key: "barePerSecond", label: "bare grammY bot", unit: "updates/s" },
    { key: "relayPerSecond", label: "relay", unit: "updates/s" },
    { key: "ratio", label: "relay / bare grammY", unit: "×" },
    { key: "heldPerSecond", label: "relay, delivery's workflows held", unit: "updates/s" },
    { key: "heldRatio", label: "relay with workflows held / bare grammY", unit: "×" },
    { key: "bareCpuMs", label: "bare grammY bot, CPU an update", unit: "ms" },
    { key: "relayCpuMs", label: "relay, CPU an update", unit: "ms" },
    { key: "heldCpuMs", label: "relay with workflows held, CPU an update", unit: "ms" },
    { key: "bareWaitedPct", label: "bare grammY bot's thread waiting for a core", unit: "%" },
    { key: "relayWaitedPct", label: "relay's thread waiting for a core", unit: "%" },
    { key: "heldWaitedPct", label: "relay's thread waiting for a core, workflows held", unit: "%" },
    { key: "relayDelivered", label: "messages delivered during the relay's counted round", unit: "msg" },
    { key: "relayOthersMsPerDelivered", label: "other threads' CPU a message delivered meanwhile", unit: "ms" },
    { key: "bareMainUs", label: "bare grammY bot's thread, CPU an update", unit: "µs" },
    { key: "relayMainUs", label: "relay's thread, CPU an update", unit: "µs" },
    { key: "mainRatio", label: "thread's CPU an update, bare / relay", unit: "×" },
    { key: "heldMainRatio", label: "thread's CPU an update, bare / relay with workflows held", unit: "×" }
  ],
  repetitions: ({ quick }) => (quick ? 1 : 2),
  goals: [{ figure: "ratio", comparison: ">=", target: 0.7, source: "telegram-relay" }],
  run: ({ quick }) =>
    runAppBench("@linecast/telegram-relay", {
      quick,
      env: {},
      timeoutMs: quick ? 90_000 : 300_000
    })
}
