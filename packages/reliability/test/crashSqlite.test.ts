/**
 * Crash: `linecast serve` on SQLite under a steady stream of CRM events, killed with SIGKILL every
 * few seconds and restarted at the same address. Afterwards every event it acknowledged produced
 * exactly its message: zero lost, zero duplicated, and every resend the weekly rule refused was a
 * reconciliation (the outbox holds nothing dead or ambiguous).
 */
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { full, scale, sleep } from "./support/chaos.js"
import { type CrmPortal, startCrmPortal } from "./support/crm.js"
import { report } from "./support/figures.js"
import { type SentEvent, streamEvents, tally } from "./support/load.js"
import { freePort } from "./support/port.js"
import { findSecrets } from "./support/secrets.js"
import { killAll, linecastJson, outputs, type RunningServe, startServe } from "./support/serve.js"

const restarts = scale(2, 15)
const portals: Array<CrmPortal> = []
afterAll(async () => {
  await killAll()
  for (const portal of portals) await portal.emulator.close()
})

describe("crash: serve on SQLite, SIGKILLed under load", () => {
  it(
    "loses and duplicates nothing across the restarts",
    async () => {
      const portal = await startCrmPortal()
      portals.push(portal)
      const port = await freePort()
      const env = portal.env({
        LINECAST_SQLITE_FILE: join(portal.folder, "linecast.sqlite"),
        LINECAST_PORT: String(port)
      })
      let serve: RunningServe | undefined
      let stopped = false
      const stream = streamEvents(portal, () => (serve === undefined ? undefined : serve.eventsUrl), {
        // The portal's budget (50 calls, then 2 a second, one \`crm.deal.get\` per event) bounds the
        // sustainable rate: faster would only test the bucket.
        everyMs: 250,
        max: scale(400, 4_000),
        stop: () => stopped,
        label: "crash"
      })
      try {
        for (let round = 0; round < restarts; round++) {
          serve = await startServe(env)
          // A kill at a different moment of the work each time: 1 to 3 seconds of life.
          await sleep(1_000 + ((round * 737) % 2_000))
          const killed = serve
          serve = undefined
          await killed.kill("SIGKILL")
        }
        serve = await startServe(env)
        await sleep(1_000)
      } finally {
        stopped = true
      }
      const sent: ReadonlyArray<SentEvent> = await stream
      const counts = await tally(portal, sent, scale(60_000, 300_000))
      await serve.kill("SIGTERM")
      const entries = (await linecastJson(["outbox", "list", "--limit", "100000"], env)) as ReadonlyArray<{
        readonly id: string
        readonly state: string
        readonly attempts: number
        readonly lastError?: { readonly code: string }
      }>
      const unsettledEntries = entries.filter((entry) => entry.state !== "sent")
      const unsettled = unsettledEntries.length
      const leaks = findSecrets(outputs, portal.secrets)
      report("crash-sqlite", {
        ...counts,
        load: `${sent.length} events, ${restarts} SIGKILLs`,
        faults: restarts,
        inputs: sent.length,
        lost: counts.lost,
        duplicated: counts.duplicated,
        leaked: leaks.length,
        unsettled,
        // What a failure left, for whoever reads the report.
        unsettledEntries: unsettledEntries.map(({ id, state, attempts, lastError }) => ({
          id,
          state,
          attempts,
          error: lastError?.code
        }))
      })
      expect(counts.accepted).toBeGreaterThan(full ? 100 : 10)
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(unsettled).toBe(0)
      expect(leaks).toEqual([])
    },
    scale(120_000, 600_000)
  )
})
