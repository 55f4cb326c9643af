/**
 * Scenario 5: four delivery processes on one PostgreSQL database sending to one emulated portal
 * (bucket 50, 10/s). Figures: messages delivered per second across the four, duplicates in the
 * portal's inbox, QUERY_LIMIT_EXCEEDED the portal answered, entries dead-lettered.
 */
import { SqlClient } from "@effect/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { worker } from "../internal/child.js"
import { inboxFigures, startPortal, target } from "../internal/emulators.js"
import type { Scenario } from "../Scenario.js"
import { blocked, figures } from "../Scenario.js"

const runners = 4
const bucket = { limit: 50, drainPerSecond: 10 }
const perRunner = (quick: boolean) => (quick ? 20 : 100)
const waitSeconds = (quick: boolean) => (quick ? 8 : 45)
const adminUrl = "postgres://postgres@127.0.0.1:5432/test"

const admin = async (statement: string) => {
  const runtime = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(adminUrl) }))
  try {
    await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)))
  } finally {
    await runtime.dispose()
  }
}

export const multiRunner: Scenario = {
  id: "5",
  title: "4 delivery instances on PostgreSQL sharing one portal",
  description: ({ quick }) =>
    `${runners} processes, each running delivery on the same PostgreSQL database (127.0.0.1:5432, a schema per run) and ` +
    `enqueuing ${perRunner(quick)} messages for one portal whose bucket holds 50 and drains 10 a second. Ideal: every ` +
    "message delivered once, at the portal's pace (50 at once, then 10 a second), and no QUERY_LIMIT_EXCEEDED: the " +
    "runners share one budget (delivery's multi-runner layer: each runner listens on 127.0.0.1 for the others).",
  figures: [
    { key: "perSecond", label: "delivered across the 4", unit: "msg/s" },
    { key: "delivered", label: "delivered (unique in inbox)", unit: "%" },
    { key: "duplicates", label: "duplicates in inbox", unit: "" },
    { key: "queryLimit", label: "QUERY_LIMIT_EXCEEDED answered by the portal", unit: "" },
    { key: "dead", label: "entries dead-lettered", unit: "" }
  ],
  goals: [],
  repetitions: ({ quick }) => (quick ? 1 : 2),
  run: async ({ quick, log }) => {
    const schema = `linecast_bench_${process.pid}_${Date.now().toString(36)}`
    try {
      await admin(`CREATE SCHEMA ${schema}`)
    } catch (error) {
      return blocked(`PostgreSQL at 127.0.0.1:5432 (database test) is not reachable: ${String(error)}`)
    }
    const portal = await startPortal({ bucket })
    try {
      const url = `${adminUrl}?options=-c%20search_path%3D${schema}`
      const count = perRunner(quick)
      const { users } = target(portal)
      const outcomes = await Promise.all(
        Array.from({ length: runners }, (_, runner) =>
          worker(
            "deliveryRunner",
            [
              portal.webhookUrl,
              portal.lineCode,
              url,
              String(runner * count),
              String(count),
              users.join(","),
              String(bucket.limit),
              String(bucket.drainPerSecond),
              String(runners * count),
              String(waitSeconds(quick))
            ],
            { timeoutMs: (waitSeconds(quick) + 45) * 1000 }
          )
        )
      )
      const failed = outcomes.filter((outcome) => outcome.figures === undefined)
      if (failed.length > 0) {
        log(failed.map((outcome) => outcome.stderrTail).join("\n"))
        return blocked(
          `needs delivery's multi-runner layer: ${failed.length} of ${runners} runners on one PostgreSQL database did not finish (${failed[0]?.stderrTail.split("\n").at(-1) ?? ""})`
        )
      }
      // From each runner's first enqueue to its end (its start-up excluded), the slowest of the four.
      const seconds = Math.max(...outcomes.map((outcome) => outcome.figures?.seconds ?? 0))
      const inbox = inboxFigures(portal)
      const total = runners * count
      const settled = Math.max(...outcomes.map((outcome) => outcome.figures?.settled ?? 0))
      const notes =
        settled < total
          ? [
              `only ${settled} of ${total} entries settled within ${waitSeconds(quick)} s of the start: the rest were still queued`
            ]
          : []
      return figures(
        {
          perSecond: inbox.unique / seconds,
          delivered: (100 * inbox.unique) / total,
          duplicates: inbox.duplicates,
          queryLimit: portal.control.counters().rejected.QUERY_LIMIT_EXCEEDED ?? 0,
          dead: Math.max(...outcomes.map((outcome) => outcome.figures?.dead ?? 0))
        },
        notes
      )
    } finally {
      await portal.close()
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
    }
  }
}
