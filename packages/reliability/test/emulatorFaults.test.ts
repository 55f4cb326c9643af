/**
 * Faults from the emulated portal against delivery: 5xx, connection resets, requests that never
 * answer, lost answers, the portal down then back (the breaker opens and closes), the operating-time
 * block, and the OAuth token expiring in the middle of a burst. Everything ends sent or dead-lettered
 * with its reason; a sent entry's message is in the inbox exactly once.
 */
import { PortalAuth } from "@linecast/core"
import { PortalSender } from "@linecast/delivery"
import { type RunningPortalEmulator, startPortalEmulator } from "@linecast/testkit"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, scale } from "./support/chaos.js"
import {
  type DeliveryRuntime,
  enqueueBurst,
  entries,
  exactness,
  portalId,
  type Recorder,
  recorder,
  settled,
  sqliteFile,
  startDelivery
} from "./support/delivery.js"
import { report } from "./support/figures.js"
import { findSecrets } from "./support/secrets.js"

let emulator: RunningPortalEmulator
const runtimes: Array<DeliveryRuntime> = []
beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(async () => {
  for (const runtime of runtimes) await runtime.dispose()
  await emulator.close()
})

const onlyLoopback = (record: Recorder) => record.requests.filter((url) => new URL(url).hostname !== "127.0.0.1")

const breaker = (runtime: DeliveryRuntime) =>
  runtime.runPromise(Effect.flatMap(PortalSender.PortalSender, (sender) => sender.status(portalId)))

describe("emulator faults against delivery", () => {
  it(
    "5xx, resets, hangs, lost answers, the portal down then back, the operating-time block: nothing lost or doubled",
    async () => {
      emulator.control.reset()
      const record = recorder()
      const auth = await Effect.runPromise(PortalAuth.webhook(Redacted.make(emulator.webhookUrl)))
      const runtime = startDelivery(auth, { kind: "sqlite", filename: sqliteFile() }, record)
      runtimes.push(runtime)
      const burst = scale(40, 400)
      const control = emulator.control

      // 1. A mix of every transport fault, reproducible from its seed.
      control.configure("demo", {
        faults: {
          seed: 7,
          serverErrorRate: 0.1,
          resetRate: 0.1,
          hangRate: 0.05,
          hangMs: 3_000,
          lostAnswerRate: 0.15,
          latencyMs: 5
        }
      })
      // Delivery packs what waits into `batch` calls, so a burst may take only a few calls, and a few draws of the
      // generator: bursts go on until the mix has met the portal failing, resetting and losing answers.
      let bursts = 0
      do {
        await enqueueBurst(runtime, emulator, `mixed ${bursts}`, burst)
        await settled(runtime, scale(60_000, 300_000))
        bursts++
        const met = control.counters("demo").faults
        if (met.serverErrors > 0 && met.resets > 0 && met.lostAnswers > 0) break
      } while (bursts < 12)

      // 2. The portal down (every call a 5xx): the breaker opens; back up: it closes and the backlog goes.
      control.configure("demo", { faults: { serverErrorRate: 1 } })
      await enqueueBurst(runtime, emulator, "down", scale(10, 100))
      await eventually(async () => (await breaker(runtime)).breaker === "open", "the breaker to open", 30_000)
      const opened = true
      control.configure("demo", { faults: {} })
      await settled(runtime, scale(60_000, 300_000))
      await eventually(async () => (await breaker(runtime)).breaker === "closed", "the breaker to close", 30_000)

      // 3. The operating-time block: every call costs more than the window allows, until its use leaves the
      // (shortened, 5 s) window; then the limit lifts too.
      control.configure("demo", { operating: { limitSeconds: 1, windowSeconds: 5, costSeconds: 5 } })
      const blocked = await enqueueBurst(runtime, emulator, "operating", scale(10, 100))
      await eventually(
        () => (control.counters("demo").rejected.OPERATION_TIME_LIMIT ?? 0) > 0,
        "an OPERATION_TIME_LIMIT",
        30_000
      )
      control.configure("demo", { operating: { limitSeconds: 420, windowSeconds: 600, costSeconds: 0 } })
      await settled(runtime, scale(60_000, 300_000))

      const counts = await exactness(runtime, emulator)
      const counters = control.counters("demo")
      const leaks = findSecrets(
        [{ where: "delivery logs", text: record.logs.join("\n") }],
        [{ name: "webhook code", value: new URL(emulator.webhookUrl).pathname.split("/")[3]! }]
      )
      const faults =
        counters.faults.serverErrors + counters.faults.resets + counters.faults.hangs + counters.faults.lostAnswers
      report("emulator-faults", {
        ...counts,
        load: `${burst * bursts + scale(10, 100) * 2} messages`,
        faults: faults + (counters.rejected.OPERATION_TIME_LIMIT ?? 0),
        inputs: burst * bursts + scale(10, 100) * 2,
        lost: counts.lost,
        duplicated: counts.duplicated,
        leaked: leaks.length,
        injected: counters.faults,
        operatingTimeLimits: counters.rejected.OPERATION_TIME_LIMIT ?? 0,
        weeklyRuleRefusals: counters.rejected.USER_MESSAGE_LIMIT ?? 0,
        breakerOpened: opened
      })
      expect(counters.faults.lostAnswers).toBeGreaterThan(0)
      expect(counts.unsettled).toBe(0)
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      // A rate limit lifts by itself: every blocked message waited for the window's reset and went out once,
      // none was dead-lettered for it.
      const finals = await entries(runtime)
      for (const { id, userId } of blocked) {
        const entry = finals.find((candidate) => candidate.id === id)!
        expect(entry.state).toBe("sent")
        expect(control.inbox("demo", userId)).toHaveLength(1)
      }
      expect(onlyLoopback(record)).toEqual([])
      expect(leaks).toEqual([])
    },
    scale(150_000, 900_000)
  )

  it(
    "the OAuth token expiring in the middle of a burst: refreshed once, every message delivered once",
    async () => {
      // No transport faults here (whatever the test before left): this one is about the token alone.
      emulator.control.configure("demo", {
        faults: {},
        operating: { limitSeconds: 420, windowSeconds: 600, costSeconds: 0 }
      })
      const record = recorder()
      const app = emulator.control.createApp({ scopes: ["imopenlines", "im"], accessTokenLifetimeSeconds: 3_600 })
      const installation = emulator.control.installApp("demo", app.clientId, 1)
      const auth = await Effect.runPromise(
        PortalAuth.oauth({
          restUrl: installation.clientEndpoint,
          clientId: app.clientId,
          clientSecret: Redacted.make(app.clientSecret),
          tokenUrl: emulator.control.oauthTokenUrl,
          initialTokens: {
            accessToken: Redacted.make(installation.accessToken),
            refreshToken: Redacted.make(installation.refreshToken)
          }
        })
      )
      const runtime = startDelivery(auth, { kind: "sqlite", filename: sqliteFile() }, record)
      runtimes.push(runtime)
      const half = scale(20, 200)
      await enqueueBurst(runtime, emulator, "oauth-a", half)
      // The access token's life ends between the two halves of the burst.
      emulator.control.clock.advance(2 * 3_600 * 1000)
      await enqueueBurst(runtime, emulator, "oauth-b", half)
      await settled(runtime, scale(60_000, 300_000))
      const counts = await exactness(runtime, emulator)
      const refreshed = emulator.control.counters("demo").rejected.expired_token ?? 0
      const leaks = findSecrets(
        [
          { where: "delivery logs", text: record.logs.join("\n") },
          { where: "outgoing URLs", text: record.requests.join("\n") }
        ],
        [
          { name: "access token", value: installation.accessToken },
          { name: "refresh token", value: installation.refreshToken },
          { name: "client secret", value: app.clientSecret }
        ]
      )
      report("oauth-expiry", {
        ...counts,
        load: `${half * 2} messages`,
        faults: refreshed,
        inputs: half * 2,
        lost: counts.lost,
        duplicated: counts.duplicated,
        leaked: leaks.length,
        expiredTokenAnswers: refreshed
      })
      expect(refreshed).toBeGreaterThan(0)
      expect(counts.unsettled).toBe(0)
      expect(counts.dead).toBe(0)
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(onlyLoopback(record)).toEqual([])
      expect(leaks).toEqual([])
    },
    scale(90_000, 600_000)
  )
})
