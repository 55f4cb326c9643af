import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import { call } from "./call.js"

let emulator: RunningPortalEmulator
const crm = (method: string, params: Record<string, unknown> = {}) =>
  call(`${emulator.webhookUrl}crm.${method}`, params, { encoding: "json" })

beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())

describe("CRM records", () => {
  it("adds, reads, updates and deletes a deal with Bitrix24's field names and string values", async () => {
    const added = await crm("deal.add", { fields: { TITLE: "Big deal", OPPORTUNITY: 1500, ASSIGNED_BY_ID: 3 } })
    expect(added.status).toBe(200)
    expect(typeof added.body.result).toBe("number")
    const id = added.body.result
    const read = await crm("deal.get", { id })
    expect(read.body.result).toMatchObject({
      ID: String(id),
      TITLE: "Big deal",
      OPPORTUNITY: "1500",
      ASSIGNED_BY_ID: "3",
      STAGE_ID: "NEW",
      CURRENCY_ID: "USD"
    })
    expect((await crm("deal.update", { id, fields: { STAGE_ID: "WON" } })).body.result).toBe(true)
    expect((await crm("deal.get", { id })).body.result.STAGE_ID).toBe("WON")
    expect((await crm("deal.delete", { id })).body.result).toBe(true)
    expect(await crm("deal.get", { id })).toEqual({ status: 400, body: { error: "", error_description: "Not found" } })
  })

  it("answers a missing or bad id as the CRM methods do", async () => {
    expect(await crm("lead.get", {})).toEqual({
      status: 400,
      body: { error: "", error_description: "ID is not defined or invalid." }
    })
  })

  it("lists with filter, select and order, 50 a page with next and total beside the result", async () => {
    for (let index = 0; index < 60; index++) {
      emulator.control
        .portal()
        .crm.add("contact", { NAME: `Contact ${index}`, ASSIGNED_BY_ID: index % 2 === 0 ? 2 : 4 })
    }
    const first = await crm("contact.list", { filter: { ASSIGNED_BY_ID: 2 }, select: ["NAME"], order: { ID: "DESC" } })
    expect(first.body.total).toBe(30)
    expect(first.body.next).toBeUndefined()
    expect(first.body.result).toHaveLength(30)
    expect(first.body.result[0]).toEqual({ ID: "59", NAME: "Contact 58" })
    const all = await crm("contact.list", {})
    expect(all.body).toMatchObject({ total: 60, next: 50 })
    expect(all.body.result).toHaveLength(50)
    const rest = await crm("contact.list", { start: 50 })
    expect(rest.body.result).toHaveLength(10)
    const filtered = await crm("contact.list", { filter: { "%NAME": "contact 1", ">ID": 15 } })
    expect(filtered.body.result.map((item: { NAME: string }) => item.NAME)).toEqual([
      "Contact 15",
      "Contact 16",
      "Contact 17",
      "Contact 18",
      "Contact 19"
    ])
  })

  it("needs the crm scope", async () => {
    const webhook = emulator.control.portal().addWebhook({ userId: 1, scopes: ["imopenlines"] })
    const answer = await call(`${emulator.url}/rest/1/${webhook.code}/crm.deal.list`)
    expect(answer.body.error).toBe("insufficient_scope")
  })

  it("changes records through the control API", async () => {
    const created = await fetch(`${emulator.url}/_emulator/portals/demo/crm/lead`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fields: { TITLE: "From control" } })
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    expect((await crm("lead.get", { id })).body.result.TITLE).toBe("From control")
    const missing = await fetch(`${emulator.url}/_emulator/portals/demo/crm/ship`, { method: "POST", body: "{}" })
    expect(missing.status).toBe(404)
  })
})
