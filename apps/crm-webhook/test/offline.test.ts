import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect } from "effect"
import * as EventBinding from "../src/EventBinding.js"
import { EventProcessor } from "../src/EventProcessor.js"
import * as OfflineEvents from "../src/OfflineEvents.js"
import type { RuleSet } from "../src/Rules.js"
import type { RunningListener } from "./harness.js"
import { eventually, startListener, withAppChannel } from "./harness.js"

let emulator: RunningPortalEmulator
let listener: RunningListener
let installation: ReturnType<RunningPortalEmulator["control"]["installApp"]>
let clientSecret: string

const rules = (lineCode: string): RuleSet => ({
  rules: [
    {
      name: "new-lead",
      event: "ONCRMLEADADD",
      recipient: { field: "ASSIGNED_BY_ID" },
      lineCode,
      template: "Lead: {TITLE}"
    }
  ]
})

beforeAll(async () => {
  emulator = await startPortalEmulator()
  const app = emulator.control.createApp({ scopes: ["crm", "imopenlines"] })
  clientSecret = app.clientSecret
  installation = emulator.control.installApp("demo", app.clientId, 1)
})
afterAll(async () => {
  await listener?.dispose()
  await emulator.close()
})

const inboxOf = (userId: number) => emulator.control.inbox("demo", userId).map((message) => message.message)

describe("offline events: no loss while the listener is down", () => {
  it("events raised while nobody listens are fetched later, processed once, and cleared from the portal", async () => {
    await Effect.runPromise(
      withAppChannel(emulator, installation, clientSecret, (channel) =>
        EventBinding.bind(channel, { handlerUrl: "", events: ["ONCRMLEADADD"], mode: "offline" })
      )
    )
    // The listener is not running: the portal queues the events.
    const crm = emulator.control.portal().crm
    crm.add("lead", { TITLE: "First", ASSIGNED_BY_ID: 2 }, 1)
    crm.add("lead", { TITLE: "Second", ASSIGNED_BY_ID: 3 }, 1)
    expect(emulator.control.portal().events.offline).toHaveLength(2)

    listener = await startListener({
      emulator,
      rules: rules(emulator.lineCode),
      applicationToken: installation.applicationToken
    })
    const stored = await listener.run(
      Effect.flatMap(EventProcessor, (processor) =>
        withAppChannel(emulator, installation, clientSecret, (channel) =>
          OfflineEvents.pollOnce(channel, "demo").pipe(Effect.tap(() => processor.wake))
        )
      )
    )
    expect(stored).toBe(2)
    expect(emulator.control.portal().events.offline).toHaveLength(0)
    await eventually(() => inboxOf(2).length === 1 && inboxOf(3).length === 1, "both lead messages")
    expect([...inboxOf(2), ...inboxOf(3)]).toEqual(["Lead: First", "Lead: Second"])
  })

  it("online and offline together never make a double message", async () => {
    await Effect.runPromise(
      withAppChannel(emulator, installation, clientSecret, (channel) =>
        EventBinding.bind(channel, { handlerUrl: listener.eventsUrl, events: ["ONCRMLEADADD"] })
      )
    )
    emulator.control.portal().crm.add("lead", { TITLE: "Both ways", ASSIGNED_BY_ID: 4 }, 1)
    await emulator.control.settleEvents()
    await listener.run(
      Effect.flatMap(EventProcessor, (processor) =>
        withAppChannel(emulator, installation, clientSecret, (channel) =>
          OfflineEvents.pollOnce(channel, "demo").pipe(Effect.tap(() => processor.wake))
        )
      )
    )
    const events = await listener.events()
    expect(
      events
        .filter((event) => event.entityId === "3")
        .map((event) => event.source)
        .sort()
    ).toEqual(["offline", "online"])
    await eventually(() => inboxOf(4).length === 1, "the lead message")
    await listener.run(Effect.flatMap(EventProcessor, (processor) => processor.drain))
    expect(inboxOf(4)).toEqual(["Lead: Both ways"])
  })
})

describe("ONAPPINSTALL", () => {
  it("sets the token of a portal that has none, when the listener accepts installs; then forged events are refused", async () => {
    const local = await startListener({
      emulator,
      rules: { rules: [] },
      applicationToken: undefined,
      acceptInstall: true
    })
    try {
      const post = (event: string, token: string, extra: Record<string, unknown> = {}) =>
        fetch(local.eventsUrl, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            event,
            ts: String(Math.floor(Date.now() / 1000)),
            "auth[domain]": emulator.control.info().domain,
            "auth[application_token]": token,
            ...extra
          })
        })
      expect((await post("ONCRMDEALADD", "first", { "data[FIELDS][ID]": "1" })).status).toBe(401)
      expect((await post("ONAPPINSTALL", "installed-token", { "data[VERSION]": "1" })).status).toBe(200)
      expect((await post("ONCRMDEALADD", "someone-else", { "data[FIELDS][ID]": "1" })).status).toBe(401)
      expect((await post("ONCRMDEALADD", "installed-token", { "data[FIELDS][ID]": "1" })).status).toBe(200)
      expect((await post("ONAPPINSTALL", "takeover", { "data[VERSION]": "1" })).status).toBe(401)
    } finally {
      await local.dispose()
    }
  })
})
