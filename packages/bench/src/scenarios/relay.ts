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
    "Updates injected into the Telegram emulator from many operators; the relay takes each through access, conversion, " +
    "the durable outbox and the send to the portal emulator, and replies; the bare grammY bot (with the runner) only " +
    "replies. Run by apps/telegram-relay's own bench " +
    `(\`pnpm --filter @linecast/telegram-relay bench -- --json${quick ? " --quick" : ""}\`). Ideal: 1.0×.`,
  figures: [
    { key: "barePerSecond", label: "bare grammY bot", unit: "updates/s" },
    { key: "relayPerSecond", label: "relay", unit: "updates/s" },
    { key: "ratio", label: "relay / bare grammY", unit: "×" }
  ],
  repetitions: ({ quick }) => (quick ? 1 : 2),
  goals: [{ figure: "ratio", comparison: ">=", target: 0.7, source: "telegram-relay" }],
  run: ({ quick }) =>
    runAppBench("@linecast/telegram-relay", {
      quick,
      env: {},
      timeoutMs: quick ? 90_000 : 240_000
    })
}
