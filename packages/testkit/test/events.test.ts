import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Qs from "qs"
import type { Installation, OAuthApp, RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import { call } from "./call.js"

/** A real local handler that records what the portal POSTs to it. */
interface Received {
  readonly contentType: string | undefined
  readonly raw: string
  readonly body: Record<string, any>
}

let emulator: RunningPortalEmulator
let handler: Server
let handlerUrl: string
let received: Array<Received>
let app: OAuthApp
let installation: Installation
let silent: Server
let silentUrl: string

const listen = async (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`))
  )

beforeAll(async () => {
  emulator = await startPortalEmulator()
  handler = createServer((request, response) => {
    let raw = ""
    request.on("data", (chunk) => {
      raw += chunk
    })
    request.on("end", () => {
      received.push({ contentType: request.headers["content-type"], raw, body: Qs.parse(raw) })
      response.end("ok")
    })
  })
  handlerUrl = await listen(handler)
  // A handler that never answers: the portal must give up, not stall.
  silent = createServer(() => undefined)
  silentUrl = await listen(silent)
  app = emulator.control.createApp({ scopes: ["crm", "imopenlines"] })
  installation = emulator.control.installApp("demo", app.clientId, 1)
})
afterAll(async () => {
  handler.closeAllConnections()
  silent.closeAllConnections()
  handler.close()
  silent.close()
  await emulator.close()
})
beforeEach(() => {
  received = []
})

const rest = (method: string, params: Record<string, unknown> = {}, auth = installation.accessToken) =>
  call(`${installation.clientEndpoint}${method}`, { ...params, auth })

describe("events as a real portal sends them", () => {
  it("event.bind is for applications only: a webhook gets WRONG_AUTH_TYPE", async () => {
    const answer = await call(`${emulator.webhookUrl}event.bind`, { event: "ONCRMDEALADD", handler: handlerUrl })
    expect(answer).toEqual({
      status: 403,
      body: { error: "WRONG_AUTH_TYPE", error_description: "Current authorization type is denied for this method" }
    })
  })

  it("binds, lists and refuses bad bindings as the server does", async () => {
    expect((await rest("event.bind", { event: "onCrmDealAdd", handler: handlerUrl })).body.result).toBe(true)
    expect((await rest("event.bind", { event: "ONCRMDEALUPDATE", handler: handlerUrl })).body.result).toBe(true)
    expect((await rest("event.bind", { event: "ONCRMDEALADD", handler: handlerUrl })).body).toEqual({
      error: "ERROR_CORE",
      error_description: "Handler already binded"
    })
    expect((await rest("event.bind", { event: "ONNOSUCHEVENT", handler: handlerUrl })).body.error).toBe(
      "ERROR_EVENT_NOT_FOUND"
    )
    expect((await rest("event.bind", { event: "ONCRMDEALADD" })).body).toEqual({
      error: "ERROR_ARGUMENT",
      error_description: "Argument 'HANDLER' is null or empty",
      argument: "HANDLER"
    })
    expect(
      (await rest("event.bind", { event: "ONCRMDEALADD", handler: handlerUrl, event_type: "sometimes" })).body.argument
    ).toBe("EVENT_TYPE")
    const listed = await rest("event.get")
    expect(listed.body.result).toEqual([
      { event: "ONCRMDEALADD", handler: handlerUrl, auth_type: "0", offline: 0 },
      { event: "ONCRMDEALUPDATE", handler: handlerUrl, auth_type: "0", offline: 0 }
    ])
  })

  it("POSTs a deal added by a user in the real form-urlencoded format, tokens included", async () => {
    const added = await rest("crm.deal.add", { fields: { TITLE: "Sold" } })
    await emulator.control.settleEvents()
    expect(received).toHaveLength(1)
    const [event] = received
    expect(event!.contentType).toBe("application/x-www-form-urlencoded")
    expect(event!.raw).toContain("data%5BFIELDS%5D%5BID%5D=")
    expect(event!.body).toMatchObject({
      event: "ONCRMDEALADD",
      data: { FIELDS: { ID: String(added.body.result) } },
      auth: {
        domain: installation.domain,
        client_endpoint: installation.clientEndpoint,
        member_id: installation.memberId,
        application_token: installation.applicationToken,
        status: "L",
        scope: "crm,imopenlines",
        user_id: "1"
      }
    })
    expect(event!.body.event_handler_id).toMatch(/^\d+$/)
    expect(Number(event!.body.ts)).toBe(Math.floor(emulator.control.clock.now() / 1000))
    expect(event!.body.auth.access_token).toMatch(/^[0-9a-f]{64}$/)
    expect(event!.body.auth.refresh_token).toMatch(/^[0-9a-f]{64}$/)
    // The token in the event is live: the handler can call back with it.
    expect(
      (await rest("crm.deal.get", { id: added.body.result }, event!.body.auth.access_token)).body.result.TITLE
    ).toBe("Sold")
  })

  it("omits the token fields for an event raised without a user (control API)", async () => {
    const id = emulator.control.portal().crm.add("deal", { TITLE: "Imported" })
    emulator.control.portal().crm.update("deal", id, { STAGE_ID: "WON" })
    await emulator.control.settleEvents()
    expect(received.map((event) => event.body.event)).toEqual(["ONCRMDEALADD", "ONCRMDEALUPDATE"])
    for (const event of received) {
      expect(event.body.auth).not.toHaveProperty("access_token")
      expect(event.body.auth).not.toHaveProperty("refresh_token")
      expect(event.body.auth).not.toHaveProperty("expires_in")
      expect(event.body.auth.application_token).toBe(installation.applicationToken)
    }
  })

  it("delivers at most once: a handler that does not answer is given up on, not retried, and the portal goes on", async () => {
    expect((await rest("event.bind", { event: "ONCRMLEADADD", handler: silentUrl })).body.result).toBe(true)
    emulator.control.eventTimeoutMs = 200
    try {
      const before = emulator.control.counters()
      await rest("crm.lead.add", { fields: { TITLE: "Nobody listens" } })
      expect((await call(`${emulator.webhookUrl}server.time`)).status).toBe(200)
      await emulator.control.settleEvents()
      const after = emulator.control.counters()
      expect(after.eventsFailed - before.eventsFailed).toBe(1)
    } finally {
      emulator.control.eventTimeoutMs = 5_000
    }
  })

  it("raises delete events too", async () => {
    expect((await rest("event.bind", { event: "ONCRMDEALDELETE", handler: handlerUrl })).body.result).toBe(true)
    const id = emulator.control.portal().crm.add("deal", { TITLE: "Short-lived" })
    await emulator.control.settleEvents()
    received = []
    expect((await rest("crm.deal.delete", { id })).body.result).toBe(true)
    await emulator.control.settleEvents()
    expect(received.map((event) => [event.body.event, event.body.data.FIELDS.ID])).toEqual([["ONCRMDEALDELETE", id]])
  })

  it("unbinds", async () => {
    expect((await rest("event.unbind", { event: "ONCRMDEALUPDATE", handler: handlerUrl })).body.result).toEqual({
      count: 1
    })
    emulator.control.portal().crm.update("deal", "1", { TITLE: "Changed" })
    await emulator.control.settleEvents()
    expect(received).toHaveLength(0)
  })
})

describe("offline events", () => {
  it("are stored for event.offline.get, merged while waiting, and cleared", async () => {
    expect((await rest("event.bind", { event: "ONCRMCONTACTADD", event_type: "offline" })).body.result).toBe(true)
    expect((await rest("event.bind", { event: "ONCRMCONTACTUPDATE", event_type: "offline" })).body.result).toBe(true)
    const crm = emulator.control.portal().crm
    const first = crm.add("contact", { NAME: "Ann" })
    const second = crm.add("contact", { NAME: "Bob" })
    crm.update("contact", first, { NAME: "Anna" })
    crm.update("contact", first, { NAME: "Anne" })
    const listed = await rest("event.offline.list")
    expect(listed.body.result.map((event: { EVENT_NAME: string }) => event.EVENT_NAME)).toEqual([
      "ONCRMCONTACTADD",
      "ONCRMCONTACTADD",
      "ONCRMCONTACTUPDATE"
    ])

    // Take two for processing without clearing: they are marked with a process id.
    const taken = await rest("event.offline.get", { clear: 0, limit: 2 })
    expect(taken.body.result.process_id).not.toBe("")
    expect(
      taken.body.result.events.map((event: { EVENT_DATA: { FIELDS: { ID: string } } }) => event.EVENT_DATA.FIELDS.ID)
    ).toEqual([first, second])
    // Another consumer does not see events taken by a process.
    const other = await rest("event.offline.get", { clear: 0 })
    expect(other.body.result.events).toHaveLength(1)

    // One fails, the other is done.
    const [ok, failed] = taken.body.result.events
    expect(
      (await rest("event.offline.error", { process_id: taken.body.result.process_id, message_id: [failed.MESSAGE_ID] }))
        .body.result
    ).toBe(true)
    expect(
      (await rest("event.offline.clear", { process_id: taken.body.result.process_id, id: [ok.ID] })).body.result
    ).toBe(true)
    const errors = await rest("event.offline.get", { error: 1 })
    expect(errors.body.result.events.map((event: { ID: number }) => event.ID)).toEqual([failed.ID])

    // The default (clear=1) takes and removes in one call.
    await rest("event.offline.get", { process_id: other.body.result.process_id })
    expect((await rest("event.offline.list")).body.result).toHaveLength(0)
  })

  it("need an administrator to bind", async () => {
    const installationForUser = emulator.control.installApp("demo", app.clientId, 2)
    const answer = await rest(
      "event.bind",
      { event: "ONCRMLEADADD", event_type: "offline" },
      installationForUser.accessToken
    )
    expect(answer.status).toBe(403)
    expect(answer.body.error).toBe("ACCESS_DENIED")
  })
})
