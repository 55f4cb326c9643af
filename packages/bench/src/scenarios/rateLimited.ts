/**
 * Scenario 2: a portal with Bitrix24's bucket (50 requests, drained at a faster rate than the real
 * 2/s to keep runs short). Each client sends as fast as it will for the window; the figures are the
 * messages the portal accepted, the share of the budget that is (ideal 100 %: the 50 of the full
 * bucket plus what drained in the window), and how many QUERY_LIMIT_EXCEEDED reached the caller.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { worker } from "../internal/child.js"
import type { Bucket, Client } from "../internal/clients.js"
import { b24jssdk, core, plainFetch, twoBad } from "../internal/clients.js"
import { startPortal, target } from "../internal/emulators.js"
import { forWindow } from "../internal/load.js"
import { at, isQueryLimit } from "../internal/outcomes.js"
import type { Figure, Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

const bucket: Bucket = { limit: 50, drainPerSecond: 10 }
const windowSeconds = (quick: boolean) => (quick ? 3 : 6)
/** Delivery's window is longer: the engine takes a few seconds to start a burst of workflows. */
const deliveryWindowSeconds = (quick: boolean) => (quick ? 8 : 12)
const ideal = (seconds: number) => bucket.limit + bucket.drainPerSecond * seconds
/** Delivery's backlog: three times what single calls could carry in the window. */
const backlog = (seconds: number) => 3 * ideal(seconds)

const clients = ["core", "delivery", "fetch", "b24jssdk", "twoBad"] as const
const labels: Record<(typeof clients)[number], string> = {
  core: "Linecast core (budget 50/10)",
  delivery: "Linecast delivery (outbox, SQLite)",
  fetch: "plain fetch (no limiter)",
  b24jssdk: "@bitrix24/b24jssdk (limiter 50/10, HTTPS)",
  twoBad: "@2bad/bitrix (fixed 2/s queue)"
}

const figureList: Array<Figure> = clients.flatMap((client) => [
  { key: `${client}.perSecond`, label: `${labels[client]}: accepted`, unit: "msg/s" },
  { key: `${client}.budgetShare`, label: `${labels[client]}: budget used (calls)`, unit: "%" },
  { key: `${client}.queryLimitSurfaced`, label: `${labels[client]}: QUERY_LIMIT_EXCEEDED to caller`, unit: "" }
])

interface Outcome {
  readonly seconds: number
  readonly accepted: number
  readonly units: number
  readonly queryLimit: number
}

/** At the window's end: messages the portal accepted, and bucket units used (requests the bucket let in). */
const snapshot = (emulator: RunningPortalEmulator, seconds: number) =>
  at(seconds * 1000, () => {
    const counters = emulator.control.counters()
    return { accepted: counters.accepted, units: counters.requests - counters.bucketRejections }
  })

/** Sends for the window; answers the portal's figures at the window's end and the QLEs thrown. */
const measure = async (
  emulator: RunningPortalEmulator,
  seconds: number,
  concurrency: number,
  client: Client
): Promise<Outcome> => {
  // One call first (connection, TLS, JIT), then a fresh bucket for the window.
  await client.send(-1).catch(() => undefined)
  emulator.control.reset()
  const counted = snapshot(emulator, seconds)
  const window = await forWindow(seconds, concurrency, client.send)
  await client.close()
  return { ...(await counted), seconds, queryLimit: window.errors.filter(isQueryLimit).length }
}

/** Delivery, in a process of its own: messages handed to the outbox for the window, paced by the engine and core's budget. */
const measureDelivery = async (emulator: RunningPortalEmulator, seconds: number): Promise<Outcome> => {
  const folder = mkdtempSync(join(tmpdir(), "linecast-bench-rate-"))
  let counted: Promise<{ readonly accepted: number; readonly units: number }> | undefined
  let read: { readonly accepted: number; readonly units: number } | undefined
  const outcome = await worker(
    "deliveryRate",
    [
      emulator.webhookUrl,
      emulator.lineCode,
      target(emulator).users.join(","),
      String(bucket.limit),
      String(bucket.drainPerSecond),
      String(backlog(seconds)),
      join(folder, "outbox.sqlite")
    ],
    {
      timeoutMs: (seconds + 60) * 1000,
      onLine: (line, stop) => {
        if (line !== JSON.stringify({ ready: true }) || counted !== undefined) return
        emulator.control.reset()
        counted = snapshot(emulator, seconds)
        void counted.then((figures) => {
          read = figures
          stop()
        })
      }
    }
  )
  rmSync(folder, { recursive: true, force: true })
  if (read === undefined) {
    throw new Error(`delivery's process gave no figures: ${outcome.stderrTail.split("\n").at(-1) ?? "no output"}`)
  }
  // What reached delivery's caller is an enqueue answer; a QUERY_LIMIT_EXCEEDED would end as a dead
  // entry, read after the window: not measured here (NaN keeps it out of the table).
  return { ...read, seconds, queryLimit: Number.NaN }
}

export const rateLimited: Scenario = {
  id: "2",
  title: "Rate-limited portal (bucket 50, drain 10/s)",
  description: ({ quick }) =>
    `The portal's bucket holds 50 and drains 10 a second (Bitrix24: 2 a second; faster here to keep runs short); ` +
    `each client sends for ${windowSeconds(quick)} s, 32 at a time (delivery: a backlog of ${backlog(deliveryWindowSeconds(quick))} messages ` +
    `handed to the outbox at the start of a ${deliveryWindowSeconds(quick)} s window, after one warm-up message). Ideal: ${ideal(windowSeconds(quick))} calls accepted (the full bucket plus ` +
    `${windowSeconds(quick)} s of drain), so ${(ideal(windowSeconds(quick)) / windowSeconds(quick)).toFixed(1)} msg/s with single calls, ` +
    "100 % of the budget (calls the bucket let in, over that ideal), " +
    "no QUERY_LIMIT_EXCEEDED reaching the caller. @2bad/bitrix's queue is fixed at 2 calls a second (full runs only); " +
    "the JS SDK runs against an HTTPS emulator with the same bucket. Delivery may pack several messages into one " +
    "`batch` call: its messages per second can pass the single-call ideal, and its budget share is only " +
    "meaningful while its backlog is larger than what the budget carries (with batch packing, this backlog may not be).",
  figures: figureList,
  repetitions: ({ quick }) => (quick ? 1 : 2),
  goals: [{ figure: "delivery.budgetShare", comparison: ">=", target: 98, source: "delivery" }],
  run: async ({ quick, log }) => {
    const seconds = windowSeconds(quick)
    const portal = await startPortal({ bucket })
    const secure = await startPortal({ https: true, bucket })
    const values: Record<string, number> = {}
    const record = (client: string, outcome: Outcome) => {
      values[`${client}.perSecond`] = outcome.accepted / outcome.seconds
      values[`${client}.budgetShare`] = (100 * outcome.units) / ideal(outcome.seconds)
      values[`${client}.queryLimitSurfaced`] = outcome.queryLimit
      log(
        `${client}: ${outcome.accepted} accepted in ${outcome.units} calls, ${outcome.queryLimit} QUERY_LIMIT_EXCEEDED to the caller`
      )
    }
    const notes: Array<string> = []
    const attempt = async (client: string, measured: () => Promise<Outcome>) => {
      try {
        record(client, await measured())
      } catch (error) {
        notes.push(`${client}: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    try {
      await attempt("core", () => measure(portal, seconds, 32, core(target(portal), { bucket })))
      await attempt("fetch", () => measure(portal, seconds, 32, plainFetch(target(portal))))
      await attempt("b24jssdk", () => measure(secure, seconds, 32, b24jssdk(target(secure), { bucket })))
      // Its queue is fixed at 2 calls a second: nothing a short run would learn.
      if (!quick) await attempt("twoBad", () => measure(portal, seconds, 4, twoBad(target(portal))))
      await attempt("delivery", () => measureDelivery(portal, deliveryWindowSeconds(quick)))
    } finally {
      await portal.close()
      await secure.close()
    }
    return figures(values, notes)
  }
}
