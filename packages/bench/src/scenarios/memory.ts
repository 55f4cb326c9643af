/**
 * Scenario 8: the memory of a process holding a large queue. A child process enqueues the messages
 * through delivery's outbox on SQLite and reports its RSS after a collection: once with a workflow
 * engine that runs nothing (what the queue itself costs), once with the whole `Delivery.layer` and
 * the portal unreachable (every message's workflow started, as in an outage).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { worker } from "../internal/child.js"
import type { Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

/** The goal's 1M in a full run (BENCH_QUEUE_MESSAGES changes it: enqueuing 1M takes many minutes). */
const fullQueue = Number(process.env.BENCH_QUEUE_MESSAGES ?? 1_000_000)
const counts = (quick: boolean) => ({ outbox: quick ? 5_000 : fullQueue, engine: quick ? 200 : 5_000 })

export const memory: Scenario = {
  id: "8",
  title: "Memory with a large queue (SQLite)",
  description: ({ quick }) => {
    const { outbox, engine } = counts(quick)
    return (
      `Outbox only: ${outbox.toLocaleString("en")} messages enqueued through delivery's outbox on SQLite with a workflow engine that ` +
      `runs nothing${outbox < 1_000_000 ? " (not the 1M of the goal)" : ""}. ` +
      `Whole engine: ${engine.toLocaleString("en")} messages through \`Delivery.layer\` with the portal unreachable; ` +
      "today every queued message holds a running workflow, so this is kept small and reported per 1,000 messages. " +
      "RSS after a forced collection; the goal (< 150 MB with 1M queued) is checked against the outbox-only figure."
    )
  },
  figures: [
    { key: "outbox.rssMb", label: "outbox only: RSS", unit: "MB" },
    { key: "outbox.rssPerThousandMb", label: "outbox only: RSS per 1,000 queued", unit: "MB" },
    { key: "outbox.heapUsedMb", label: "outbox only: JS heap used", unit: "MB" },
    { key: "outbox.enqueuedPerSecond", label: "outbox only: enqueued", unit: "msg/s" },
    { key: "engine.rssMb", label: "whole engine, portal down: RSS", unit: "MB" },
    { key: "engine.rssPerThousandMb", label: "whole engine, portal down: RSS per 1,000 queued", unit: "MB" },
    { key: "engine.enqueuedPerSecond", label: "whole engine, portal down: enqueued", unit: "msg/s" }
  ],
  goals: [{ figure: "outbox.rssMb", comparison: "<", target: 150, source: "delivery (1M queued)" }],
  repetitions: () => 1,
  run: async ({ quick, log }) => {
    const { outbox, engine } = counts(quick)
    const values: Record<string, number> = {}
    const notes: Array<string> = []
    for (const [mode, count] of [
      ["outbox", outbox],
      ["engine", engine]
    ] as const) {
      const folder = mkdtempSync(join(tmpdir(), "linecast-bench-memory-"))
      const outcome = await worker("memoryQueue", [mode, String(count), join(folder, "outbox.sqlite")], {
        timeoutMs: quick ? 60_000 : 1_800_000,
        nodeFlags: ["--expose-gc"]
      }).finally(() => rmSync(folder, { recursive: true, force: true }))
      if (outcome.figures === undefined) {
        notes.push(`${mode}: no figures (${outcome.code === null ? "timed out" : `exit ${outcome.code}`})`)
        continue
      }
      for (const [key, value] of Object.entries(outcome.figures)) values[`${mode}.${key}`] = value
      values[`${mode}.rssPerThousandMb`] = (outcome.figures.rssMb ?? 0) / (count / 1000)
      log(`${mode}: ${count} queued, RSS ${outcome.figures.rssMb?.toFixed(0)} MB`)
    }
    if (outbox < 1_000_000) {
      notes.push(
        `${outbox.toLocaleString("en")} messages queued, not 1M: a miss of the goal here is a miss at 1M too, a pass is not a pass`
      )
    }
    return figures(values, notes)
  }
}
