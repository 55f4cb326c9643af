import { mkdtempSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Installation, RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import express from "express"
import Fastify from "fastify"
import * as Qs from "qs"
import type { Linecast } from "../src/index.js"
import { createLinecast, expressMiddleware, fastifyPlugin, nodeHandler } from "../src/index.js"

let emulator: RunningPortalEmulator
let installation: Installation
let linecast: Linecast

beforeAll(async () => {
  emulator = await startPortalEmulator()
  const app = emulator.control.createApp({ scopes: ["crm", "imopenlines"] })
  installation = emulator.control.installApp("demo", app.clientId, 1)
  linecast = await createLinecast({
    webhookUrl: emulator.webhookUrl,
    database: join(mkdtempSync(join(tmpdir(), "linecast-mount-")), "linecast.sqlite"),
    events: { domain: installation.domain, applicationToken: installation.applicationToken },
    rules: {
      rules: [
        {
          name: "new-lead",
          event: "ONCRMLEADADD",
          recipient: { field: "ASSIGNED_BY_ID" },
          lineCode: emulator.lineCode,
          template: "Lead {TITLE}"
        }
      ]
    }
  })
})
afterAll(async () => {
  await linecast.close()
  await emulator.close()
})

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  )

/** An event exactly as the portal sends it, for a lead assigned to `userId`. */
const postLead = async (base: string, title: string, userId: number) => {
  const id = emulator.control.portal().crm.add("lead", { TITLE: title, ASSIGNED_BY_ID: userId })
  const body = Qs.stringify({
    event: "ONCRMLEADADD",
    event_handler_id: "1",
    data: { FIELDS: { ID: id } },
    ts: String(Math.floor(Date.now() / 1000)),
    auth: {
      domain: installation.domain,
      application_token: installation.applicationToken,
      member_id: installation.memberId
    }
  })
  const response = await fetch(`${base}/bitrix/events`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body
  })
  return { status: response.status, body: await response.json() }
}

const arrives = async (userId: number, text: string) => {
  for (let tries = 0; tries < 300; tries++) {
    if (emulator.control.inbox("demo", userId).some((message) => message.message === text)) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}

describe("the event handler, mounted", () => {
  it("on node:http", async () => {
    const server = createServer(await nodeHandler(linecast))
    try {
      const base = await listen(server)
      expect(await postLead(base, "via node:http", 2)).toEqual({ status: 200, body: { status: "accepted" } })
      expect(await arrives(2, "Lead via node:http")).toBe(true)
      expect((await fetch(`${base}/healthz`)).status).toBe(200)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it("in Express, beside the application's own routes", async () => {
    const app = express()
    app.use(await expressMiddleware(linecast))
    app.use(express.json())
    app.post("/own", (request, response) => {
      response.json({ own: true, echo: request.body })
    })
    const server = createServer(app)
    try {
      const base = await listen(server)
      expect(await postLead(base, "via Express", 3)).toEqual({ status: 200, body: { status: "accepted" } })
      expect(await arrives(3, "Lead via Express")).toBe(true)
      const own = await fetch(`${base}/own`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"a":1}'
      })
      expect(await own.json()).toEqual({ own: true, echo: { a: 1 } })
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it("in Fastify, without touching the application's own parsers", async () => {
    const app = Fastify()
    await app.register(fastifyPlugin(linecast))
    app.post("/own", async (request) => ({ own: true, echo: request.body }))
    try {
      const base = await app.listen({ port: 0, host: "127.0.0.1" })
      expect(await postLead(base, "via Fastify", 4)).toEqual({ status: 200, body: { status: "accepted" } })
      expect(await arrives(4, "Lead via Fastify")).toBe(true)
      const own = await fetch(`${base}/own`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"a":1}'
      })
      expect(await own.json()).toEqual({ own: true, echo: { a: 1 } })
      const forged = await fetch(`${base}/bitrix/events`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: Qs.stringify({
          event: "ONCRMLEADADD",
          data: { FIELDS: { ID: "1" } },
          ts: "1",
          auth: { domain: installation.domain, application_token: "forged" }
        })
      })
      expect(forged.status).toBe(401)
    } finally {
      await app.close()
    }
  })
})
