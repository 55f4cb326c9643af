import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect } from "effect"
import * as Qs from "qs"
import * as EventBinding from "../src/EventBinding.js"
import type { RuleSet } from "../src/Rules.js"
import type { RunningListener } from "./harness.js"
import { eventually, startListener, withAppChannel } from "./harness.js"

let emulator: RunningPortalEmulator
let listener: RunningListener
let applicationToken: string

const rules = (lineCode: string): RuleSet => ({
  rules: [
    {
      name: "deal-won",
      event: "ONCRMDEALUPDATE",
      filter: { STAGE_ID: "WON" },
      recipient: { field: "ASSIGNED_BY_ID" },
      lineCode,
      template: "Deal [b]{TITLE}[/b] is won: {OPPORTUNITY} {CURRENCY_ID}",
      keyboard: [{ text: "Open the deal", link: "https://portal.example/crm/deal/details/{ID}/" }],
      policy: "digest"
    },
    {
      name: "new-lead",
      event: "ONCRMLEADADD",
      recipient: { userId: 4 },
      lineCode,
      template: "New lead: {TITLE}",
      policy: "defer"
    },
    {
      name: "broken",
      event: "ONCRMCONTACTADD",
      recipient: { userId: 5 },
      lineCode,
      template: "Contact {NO_SUCH_FIELD}"
    }
  ]
})

beforeAll(async () => {
  emulator = await startPortalEmulator()
  emulator.control.configure("demo", { weeklyWindowSeconds: 2 })
  const app = emulator.control.createApp({ scopes: ["crm", "imopenlines"] })
  const installation = emulator.control.installApp("demo", app.clientId, 1)
  applicationToken = installation.applicationToken
  listener = await startListener({ emulator, rules: rules(emulator.lineCode), applicationToken })
  const bound = await Effect.runPromise(
    withAppChannel(emulator, installation, app.clientSecret, (channel) =>
      EventBinding.bind(channel, {
        handlerUrl: listener.eventsUrl,
        events: ["ONCRMDEALUPDATE", "ONCRMLEADADD", "ONCRMCONTACTADD", "ONCRMDEALADD"]
      })
    )
  )
  expect(bound).toHaveLength(4)
})
afterAll(async () => {
  await listener.dispose()
  await emulator.close()
})

const inboxOf = (userId: number) => emulator.control.inbox("demo", userId).map((message) => message.message)
const events = () => listener.events()

describe("CRM events in, open-channel messages out", () => {
  it("a deal moved to WON sends the templated message to its assignee, values escaped", async () => {
    const crm = emulator.control.portal().crm
    const id = crm.add("deal", { TITLE: "Big [b]order[/b]", OPPORTUNITY: 1500, ASSIGNED_BY_ID: 3 }, 1)
    crm.update("deal", id, { STAGE_ID: "WON" }, 1)
    await eventually(() => inboxOf(3).length === 1, "the deal message")
    const [received] = emulator.control.inbox("demo", 3)
    expect(received!.message).toContain("Deal [b]Big [\u2060b]order[\u2060/b][/b] is won: 1500 USD")
    expect(received!.keyboard).toEqual([
      expect.objectContaining({ TEXT: "Open the deal", LINK: `https://portal.example/crm/deal/details/${id}/` })
    ])
  })

  it("several deals won in one week reach the assignee as one digest when the window opens", async () => {
    const crm = emulator.control.portal().crm
    for (const title of ["Alpha", "Beta"]) {
      const id = crm.add("deal", { TITLE: title, OPPORTUNITY: 10, ASSIGNED_BY_ID: 3 }, 1)
      crm.update("deal", id, { STAGE_ID: "WON" }, 1)
    }
    await eventually(() => inboxOf(3).length === 2, "the digest")
    expect(inboxOf(3)[1]).toMatch(/Alpha[\s\S]*\n\nDeal \[b\]Beta/)
  })

  it("an event delivered twice is acknowledged and ignored: one message", async () => {
    const before = (await events()).length
    const body = Qs.stringify({
      event: "ONCRMLEADADD",
      event_handler_id: "7",
      data: { FIELDS: { ID: String(emulator.control.portal().crm.add("lead", { TITLE: "Twice" })) } },
      ts: String(Math.floor(Date.now() / 1000)),
      auth: { domain: emulator.control.info().domain, application_token: applicationToken, member_id: "x" }
    })
    await emulator.control.settleEvents()
    const post = () =>
      fetch(listener.eventsUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body
      })
    const first = await post()
    const second = await post()
    expect([first.status, second.status]).toEqual([200, 200])
    expect(await second.json()).toEqual({ status: "duplicate" })
    await eventually(() => inboxOf(4).includes("New lead: Twice"), "the lead message")
    expect(inboxOf(4).filter((text) => text === "New lead: Twice")).toHaveLength(1)
    expect((await events()).length).toBeGreaterThan(before)
  })

  it("a template naming a missing field keeps the event, dead, with a clear reason", async () => {
    emulator.control.portal().crm.add("contact", { NAME: "Ann" }, 1)
    await eventually(async () => (await events()).some((event) => event.state === "dead"), "the dead event")
    const dead = (await events()).find((event) => event.state === "dead")!
    expect(dead.error).toContain("{NO_SUCH_FIELD}")
    expect(inboxOf(5)).toEqual([])
  })

  it("forged, malformed, stale, unknown and oversized events are refused and nothing is stored", async () => {
    const before = (await events()).length
    const base = {
      event: "ONCRMDEALADD",
      data: { FIELDS: { ID: "1" } },
      ts: String(Math.floor(Date.now() / 1000)),
      auth: { domain: emulator.control.info().domain, application_token: applicationToken }
    }
    const post = (body: string, contentType = "application/x-www-form-urlencoded") =>
      fetch(listener.eventsUrl, { method: "POST", headers: { "content-type": contentType }, body }).then(
        async (response) => ({
          status: response.status,
          text: await response.text()
        })
      )
    const forged = await post(Qs.stringify({ ...base, auth: { ...base.auth, application_token: "guess" } }))
    expect(forged.status).toBe(401)
    expect(forged.text).not.toContain("guess")
    expect((await post(Qs.stringify({ ...base, auth: { ...base.auth, application_token: undefined } }))).status).toBe(
      400
    )
    expect((await post(Qs.stringify({ ...base, auth: { ...base.auth, domain: "evil.example" } }))).status).toBe(403)
    // A 400 names the field, never its value: it may be a token.
    for (const auth of [
      { ...base.auth, application_token: "leaked-secret-".repeat(20) },
      { ...base.auth, application_token: { nested: "leaked-secret" } },
      { ...base.auth, refresh_token: "leaked-secret-".repeat(100) }
    ]) {
      const refused = await post(Qs.stringify({ ...base, auth }))
      expect(refused.status).toBe(400)
      expect(refused.text).toMatch(/auth\.(application|refresh)_token is not valid/)
      expect(refused.text).not.toContain("leaked-secret")
    }
    expect((await post(Qs.stringify({ ...base, ts: "1000" }))).status).toBe(400)
    expect((await post("{not json", "application/json")).status).toBe(400)
    expect((await post("x".repeat(70 * 1024))).status).toBe(413)
    const unknown = await post(Qs.stringify({ ...base, event: "ONTASKADD" }))
    expect(unknown).toEqual({ status: 200, text: JSON.stringify({ status: "ignored" }) })
    expect((await events()).length).toBe(before)
  })

  it("refuses a CRM event without a record id", async () => {
    const body = Qs.stringify({
      event: "ONCRMDEALADD",
      ts: String(Math.floor(Date.now() / 1000)),
      auth: { domain: emulator.control.info().domain, application_token: applicationToken }
    })
    const response = await fetch(listener.eventsUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body
    })
    expect(response.status).toBe(400)
  })

  it("serves health, readiness and Prometheus metrics", async () => {
    expect((await fetch(`${listener.url}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${listener.url}/readyz`)).json()).toMatchObject({ database: "ok" })
    const metrics = await (await fetch(`${listener.url}/metrics`)).text()
    expect(metrics).toMatch(/linecast_crm_events_received\{outcome="stored"\} \d+/)
    expect(metrics).toMatch(/linecast_crm_events_received\{outcome="forged"\} [1-9]/)
    expect(metrics).not.toContain(applicationToken)
  })
})
