/**
 * Scenario 6: the CRM listener's ingest against a bare `node:http` handler, measured by the app's own
 * bench (apps/crm-webhook/bench/ingest.ts) in a child process.
 */
import { runAppBench } from "../internal/appBench.js"
import type { Scenario } from "../Scenario.js"

export const crmIngest: Scenario = {
  id: "6",
  title: "CRM listener ingest vs bare node:http",
  description: ({ quick }) =>
    "Events POSTed the way Bitrix24 does, 32 at a time, to the listener (durably stored) and to a bare node:http " +
    "handler answering 200 in the same run; then the listener's acknowledgement latency at 1,000 events a second, " +
    `open loop. Run by apps/crm-webhook's own bench (\`pnpm --filter @linecast/crm-webhook bench -- --json${quick ? " --quick" : ""}\`). ` +
    "Ideal: the listener as fast as the bare handler (1.0×).",
  figures: [
    { key: "barePerSecond", label: "bare node:http", unit: "events/s" },
    { key: "acceptedPerSecond", label: "listener, durably accepted", unit: "events/s" },
    { key: "ratio", label: "listener / bare node:http", unit: "×" },
    { key: "p50Ms", label: "ack latency p50 at 1k events/s", unit: "ms" },
    { key: "p99Ms", label: "ack latency p99 at 1k events/s", unit: "ms" }
  ],
  repetitions: ({ quick }) => (quick ? 1 : 2),
  goals: [
    { figure: "ratio", comparison: ">=", target: 0.5, source: "crm-webhook" },
    { figure: "p99Ms", comparison: "<", target: 100, source: "crm-webhook" }
  ],
  run: ({ quick }) =>
    runAppBench("@linecast/crm-webhook", {
      quick,
      env: {},
      timeoutMs: quick ? 60_000 : 180_000
    })
}
