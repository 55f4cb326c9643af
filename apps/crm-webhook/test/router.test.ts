/**
 * The same endpoint mounted as an `@effect/platform` router (as `@linecast/node`'s CLI serves it):
 * the checks, the answers and persist-before-acknowledge do not depend on how it is mounted.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import type { RunningListener } from "./harness.js"
import { eventually, startListener } from "./harness.js"

let emulator: RunningPortalEmulator
let listener: RunningListener
const applicationToken = "router-application-token"

beforeAll(async () => {
  emulator = await startPortalEmulator()
  listener = await startListener({
    emulator,
    rules: {
      rules: [
        {
          name: "new-lead",
          event: "ONCRMLEADADD",
          recipient: { userId: 4 },
          lineCode: emulator.lineCode,
          template: "New lead: {TITLE}"
        }
      ]
    },
    applicationToken,
    mount: "router"
  })
})
afterAll(async () => {
  await listener.dispose()
  await emulator.close()
})

// One `ts` for the file: the same event posted twice has the same dedupe key.
const ts = String(Math.floor(Date.now() / 1000))

const post = (fields: Record<string, string>, token = applicationToken) =>
  fetch(listener.eventsUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      ts,
      "auth[domain]": emulator.control.info().domain,
      "auth[application_token]": token,
      ...fields
    })
  }).then(async (response) => ({ status: response.status, body: await response.text() }))

describe("the listener as an Effect router", () => {
  it("stores an event before it answers, and a repeat is a duplicate", async () => {
    const id = String(emulator.control.portal().crm.add("lead", { TITLE: "Routed" }))
    const event = { event: "ONCRMLEADADD", "data[FIELDS][ID]": id, event_handler_id: "3" }
    const first = await post(event)
    expect(first).toEqual({ status: 200, body: JSON.stringify({ status: "accepted" }) })
    // Answered 200, so the row is already committed.
    expect((await listener.events()).map((stored) => stored.entityId)).toContain(id)
    expect(await post(event)).toEqual({ status: 200, body: JSON.stringify({ status: "duplicate" }) })
    await eventually(() => emulator.control.inbox("demo", 4).length === 1, "the lead message")
  })

  it("stores an event no rule asks for as processed, and refuses what it must", async () => {
    const deal = await post({ event: "ONCRMDEALADD", "data[FIELDS][ID]": "77" })
    expect(deal.status).toBe(200)
    const stored = (await listener.events()).find((event) => event.event === "ONCRMDEALADD")
    expect(stored).toMatchObject({ entityId: "77", state: "processed" })
    const before = (await listener.events()).length
    const forged = await post({ event: "ONCRMDEALADD", "data[FIELDS][ID]": "78" }, "guess")
    expect(forged.status).toBe(401)
    expect(forged.body).not.toContain("guess")
    expect((await post({ event: "ONCRMDEALADD" })).status).toBe(400)
    const large = await fetch(listener.eventsUrl, { method: "POST", body: "x".repeat(70 * 1024) })
    expect(large.status).toBe(413)
    expect((await listener.events()).length).toBe(before)
  })
})
