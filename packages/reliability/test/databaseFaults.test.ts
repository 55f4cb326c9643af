/**
 * Database faults: PostgreSQL connections cut under load. The machine's PostgreSQL is shared with
 * other work, so it is never restarted: every server connection of this run's schema is ended with
 * `pg_terminate_backend`, again and again, while messages are enqueued and sent. An enqueue the
 * database refused fails with a typed error (nothing half-stored); every accepted message is sent
 * exactly once when the connections come back.
 */
import { PortalAuth } from "@linecast/core"
import { type RunningPortalEmulator, startPortalEmulator } from "@linecast/testkit"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { scale, sleep } from "./support/chaos.js"
import {
  type DeliveryRuntime,
  enqueueBurst,
  entries,
  exactness,
  recorder,
  settled,
  startDelivery
} from "./support/delivery.js"
import { report } from "./support/figures.js"
import { freshSchema, type Schema } from "./support/postgres.js"
import { findSecrets } from "./support/secrets.js"

let emulator: RunningPortalEmulator
let schema: Schema
const runtimes: Array<DeliveryRuntime> = []

describe("database faults", () => {
  beforeAll(async () => {
    emulator = await startPortalEmulator()
    schema = await freshSchema()
  })
  afterAll(async () => {
    for (const runtime of runtimes) await runtime.dispose().catch(() => undefined)
    await emulator.close()
    await schema.drop()
  })
  it(
    "PostgreSQL connections terminated under load: typed refusals, nothing accepted lost, recovery",
    async () => {
      const record = recorder()
      const auth = await Effect.runPromise(PortalAuth.webhook(Redacted.make(emulator.webhookUrl)))
      const runtime = startDelivery(auth, { kind: "postgres", url: Redacted.make(schema.url) }, record)
      runtimes.push(runtime)
      // Started before the first cut: this test is about a running service losing its connections.
      await runtime.runPromise(Effect.void)
      const rounds = scale(5, 30)
      const perRound = scale(8, 40)
      let accepted = 0
      let terminated = 0
      const refusals: Array<string> = []
      for (let round = 0; round < rounds; round++) {
        const cut = schema.terminateBackends()
        for (let index = 0; index < perRound; index++) {
          try {
            accepted += (await enqueueBurst(runtime, emulator, `pg-${round}-${index}`, 1)).length
          } catch (error) {
            refusals.push(String(error))
          }
        }
        terminated += await cut
        await sleep(200)
      }
      // Recovery without a restart first; what is still not moving then is counted, and a restart (its
      // start-up sweep) must finish it. The README reports the count: it should be zero.
      const recovered = await settled(runtime, scale(10_000, 60_000)).then(
        () => true,
        () => false
      )
      const strandedEntries = recovered
        ? []
        : (await entries(runtime)).filter((entry) => entry.state !== "sent" && entry.state !== "dead")
      const strandedAdmissions = recovered ? 0 : await schema.count("linecast_admission")
      let final = runtime
      if (!recovered) {
        await runtime.dispose()
        final = startDelivery(auth, { kind: "postgres", url: Redacted.make(schema.url) }, record)
        runtimes.push(final)
        await settled(final, scale(60_000, 300_000))
      }
      const counts = await exactness(final, emulator)
      const leaks = findSecrets(
        [
          { where: "delivery logs", text: record.logs.join("\n") },
          { where: "refusals", text: refusals.join("\n") }
        ],
        [{ name: "webhook code", value: new URL(emulator.webhookUrl).pathname.split("/")[3]! }]
      )
      report("postgres-connections-cut", {
        ...counts,
        load: `${rounds * perRound} enqueues`,
        faults: terminated,
        inputs: rounds * perRound,
        leaked: leaks.length,
        accepted,
        refused: refusals.length,
        connectionsTerminated: terminated,
        strandedUntilRestart: strandedEntries.length,
        strandedStates: strandedEntries.map((entry) => `${entry.state}/${entry.attempts}`),
        strandedAdmissions
      })
      expect(terminated).toBeGreaterThan(0)
      expect(accepted).toBeGreaterThan(0)
      expect(counts.sent + counts.dead).toBe(accepted)
      expect(counts.dead).toBe(0)
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(leaks).toEqual([])
    },
    scale(120_000, 600_000)
  )
})
