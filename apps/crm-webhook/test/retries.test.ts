/** Events whose record cannot be fetched: retried after growing delays, never in a hot loop, then dead-lettered. */
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect } from "effect"
import { EventProcessor, retryDelayMs } from "../src/EventProcessor.js"
import type { RuleSet } from "../src/Rules.js"
import type { RunningListener } from "./harness.js"
import { eventually, startListener } from "./harness.js"

let emulator: RunningPortalEmulator
let listener: RunningListener | undefined
const applicationToken = "retries-application-token"

const rules = (lineCode: string): RuleSet => ({
  rules: [
    { name: "new-lead", event: "ONCRMLEADADD", recipient: { userId: 4 }, lineCode, template: "New lead: {TITLE}" }
  ]
})

beforeEach(async () => {
  emulator = await startPortalEmulator()
})
afterEach(async () => {
  await listener?.dispose()
  listener = undefined
  await emulator.close()
})

const postLead = (title: string) => {
  // The lead is made while the portal is well; the event is posted by hand, as the portal would.
  const id = emulator.control.portal().crm.add("lead", { TITLE: title })
  return fetch(listener!.eventsUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      event: "ONCRMLEADADD",
      event_handler_id: "1",
      "data[FIELDS][ID]": String(id),
      ts: String(Math.floor(Date.now() / 1000)),
      "auth[domain]": emulator.control.info().domain,
      "auth[application_token]": applicationToken
    })
  }).then((response) => response.status)
}

const portalDown = () => emulator.control.configure("demo", { faults: { seed: 7, serverErrorRate: 1 } })
const portalUp = () => emulator.control.configure("demo", { faults: { serverErrorRate: 0 } })
const serverErrors = () => emulator.control.counters().faults.serverErrors
const eventOf = async () => (await listener!.events()).find((event) => event.event === "ONCRMLEADADD")

describe("an event whose record cannot be fetched", () => {
  it("is tried maxAttempts times, then kept as dead with the reason", async () => {
    listener = await startListener({
      emulator,
      rules: rules(emulator.lineCode),
      applicationToken,
      processor: { maxAttempts: 4, retryDelay: "20 millis", maxRetryDelay: "80 millis" }
    })
    portalDown()
    expect(await postLead("Unreachable")).toBe(200)
    await eventually(async () => (await eventOf())?.state === "dead", "the dead event")
    const dead = (await eventOf())!
    expect(dead.attempts).toBe(4)
    expect(dead.error).toMatch(/^gave up after 4 attempts: /)
    expect(dead.error).toContain("INTERNAL_SERVER_ERROR")
    // One request per attempt, no more: the worker kept running (polls, wakes) without trying it again.
    expect(serverErrors()).toBe(4)
    await listener.run(Effect.flatMap(EventProcessor, (processor) => processor.drain))
    expect(serverErrors()).toBe(4)
    expect(emulator.control.inbox("demo", 4)).toEqual([])
  })

  it("is not tried again before its time, however often the worker runs", async () => {
    listener = await startListener({
      emulator,
      rules: rules(emulator.lineCode),
      applicationToken,
      processor: { retryDelay: "1 hour", maxRetryDelay: "2 hours" }
    })
    portalDown()
    expect(await postLead("Later")).toBe(200)
    await eventually(async () => (await eventOf())?.attempts === 1, "the first attempt")
    for (let round = 0; round < 5; round++) {
      await listener.run(Effect.flatMap(EventProcessor, (processor) => processor.drain))
    }
    const waiting = (await eventOf())!
    expect(waiting).toMatchObject({ state: "received", attempts: 1 })
    expect(waiting.error).toContain("INTERNAL_SERVER_ERROR")
    // The next attempt is at least 0.8 hour after the first (the delay, less its jitter).
    expect(waiting.retryAt - waiting.receivedAt).toBeGreaterThanOrEqual(0.8 * 3600_000)
    expect(serverErrors()).toBe(1)
  })

  it("is processed once the portal answers again", async () => {
    listener = await startListener({
      emulator,
      rules: rules(emulator.lineCode),
      applicationToken,
      processor: { retryDelay: "20 millis", maxRetryDelay: "80 millis" }
    })
    portalDown()
    expect(await postLead("Patience")).toBe(200)
    await eventually(async () => ((await eventOf())?.attempts ?? 0) >= 2, "two failed attempts")
    portalUp()
    await eventually(() => emulator.control.inbox("demo", 4).length === 1, "the lead message")
    expect(emulator.control.inbox("demo", 4)[0]!.message).toBe("New lead: Patience")
    await eventually(async () => (await eventOf())?.state === "processed", "the processed event")
  })
})

describe("retryDelayMs", () => {
  it("doubles from the first delay, up to the cap, spread by at most 20%", () => {
    const middle = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(attempt, 1_000, 10_000, 0.5))
    expect(middle).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
    expect(retryDelayMs(3, 1_000, 10_000, 0)).toBe(3_200)
    expect(retryDelayMs(3, 1_000, 10_000, 0.999_999)).toBe(4_800)
  })
})
