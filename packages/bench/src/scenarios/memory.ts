/**
 * Scenario 8: the memory of a process holding a large queue. A child process runs the whole of
 * delivery on SQLite with its portal down, enqueues the messages and reports its RSS after a
 * collection. Admission control keeps the queue in the database: only what the portal can take soon
 * runs as workflows, so memory should not grow with the queue.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { worker } from "../internal/child.js"
import type { Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

/** The goal's 1M in a full run (BENCH_QUEUE_MESSAGES changes it: enqueuing 1M takes several minutes). */
const fullQueue = Number(process.env.BENCH_QUEUE_MESSAGES ?? 1_000_000)
const countOf = (quick: boolean) => (quick ? 20_000 : fullQueue)
/**
 * V8's young generation may grow to 3 × 16 MB by default, whatever the application holds; a process
 * meant to stay small caps it (`node --max-semi-space-size=1`), at a small cost in collections.
 */
const nodeFlags = ["--expose-gc", "--max-semi-space-size=1"]

export const memory: Scenario = {
  id: "8",
  title: "Memory with a large queue (SQLite)",
  description: ({ quick }) =>
    `${countOf(quick).toLocaleString("en")} messages enqueued through \`Delivery.layer\` (outbox, admission, cluster engine, ` +
    `workflows, portal entity) on SQLite with the portal unreachable, as in an outage${countOf(quick) < 1_000_000 ? " (not the 1M of the goal)" : ""}. ` +
    "The worker runs as one compiled bundle (no tsx), with `node " +
    nodeFlags.slice(1).join(" ") +
    "`; RSS after a forced collection a minute after the last message (when the engine has put idle workflows " +
    "away, as in an outage that lasts), and its growth over the same process idle before the first message.",
  figures: [
    { key: "rssMb", label: "RSS with the queue", unit: "MB" },
    { key: "idleRssMb", label: "RSS idle, before enqueuing", unit: "MB" },
    { key: "growthMb", label: "growth with the queue", unit: "MB" },
    { key: "heapUsedMb", label: "JS heap used", unit: "MB" },
    { key: "heapTotalMb", label: "JS heap reserved", unit: "MB" },
    { key: "externalMb", label: "outside the heap (buffers, native objects)", unit: "MB" },
    { key: "queued", label: "queued", unit: "msgs" },
    { key: "admitted", label: "running as workflows (admitted)", unit: "msgs" },
    { key: "enqueuedPerSecond", label: "enqueued", unit: "msg/s" }
  ],
  goals: [{ figure: "rssMb", comparison: "<", target: 150, source: "delivery (1M queued)" }],
  repetitions: () => 1,
  run: async ({ quick, log }) => {
    const count = countOf(quick)
    const folder = mkdtempSync(join(tmpdir(), "linecast-bench-memory-"))
    const outcome = await worker("memoryQueue", [String(count), join(folder, "outbox.sqlite")], {
      timeoutMs: quick ? 180_000 : 2_400_000,
      nodeFlags,
      bundled: true
    }).finally(() => rmSync(folder, { recursive: true, force: true }))
    const notes: Array<string> = []
    if (outcome.figures === undefined) {
      notes.push(`no figures (${outcome.code === null ? "timed out" : `exit ${outcome.code}`}): ${outcome.stderrTail}`)
      return figures({}, notes)
    }
    log(`${count} queued, RSS ${outcome.figures.rssMb?.toFixed(0)} MB`)
    if (count < 1_000_000) {
      notes.push(
        `${count.toLocaleString("en")} messages queued, not 1M: a miss of the goal here is a miss at 1M too, a pass is not a pass`
      )
    }
    return figures(outcome.figures, notes)
  }
}
