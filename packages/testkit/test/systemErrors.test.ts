import * as http from "node:http"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import { call } from "./call.js"

let emulator: RunningPortalEmulator

beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())
beforeEach(() => emulator.control.reset())

const error = (code: string, description: string) => ({ error: code, error_description: description })
const message = () => ({ CODE: emulator.lineCode, USER_ID: 2, MESSAGE: "hello" })

describe("routing and authentication", () => {
  it("routes with and without .json, on GET and POST", async () => {
    for (const path of ["profile", "profile.json", "PROFILE.JSON", "server.time", "server.time.json"]) {
      expect((await call(`${emulator.webhookUrl}${path}`, {}, { encoding: "query" })).status).toBe(200)
      expect((await call(`${emulator.webhookUrl}${path}`)).status).toBe(200)
    }
  })

  it("ERROR_METHOD_NOT_FOUND (404) for an unknown method, decided before auth", async () => {
    const expected = { status: 404, body: error("ERROR_METHOD_NOT_FOUND", "Method not found!") }
    expect(await call(`${emulator.webhookUrl}no.such.method`)).toEqual(expected)
    expect(await call(`${emulator.url}/rest/1/wrongcode/no.such.method`)).toEqual(expected)
    expect(await call(`${emulator.url}/rest/no.such.method`)).toEqual(expected)
  })

  it("INVALID_CREDENTIALS (401) for a wrong webhook code or a user id that does not own it", async () => {
    const expected = { status: 401, body: error("INVALID_CREDENTIALS", "Invalid request credentials") }
    expect(await call(`${emulator.url}/rest/1/wrongcode/profile`)).toEqual(expected)
    const wrongUser = emulator.webhookUrl.replace("/rest/1/", "/rest/2/")
    expect(await call(`${wrongUser}profile`)).toEqual(expected)
  })

  it("NO_AUTH_FOUND (401) without any credentials", async () => {
    expect(await call(`${emulator.url}/rest/profile`)).toEqual({
      status: 401,
      body: error("NO_AUTH_FOUND", "Wrong authorization data")
    })
  })

  it("insufficient_scope (401) for a webhook without the method's scope", async () => {
    const webhook = emulator.control.portal().addWebhook({ userId: 1, scopes: ["crm"] })
    const url = `${emulator.url}/rest/1/${webhook.code}/imopenlines.network.message.add`
    expect(await call(url, message())).toEqual({
      status: 401,
      body: error("insufficient_scope", "The request requires higher privileges than provided by the webhook token")
    })
    // Methods of no scope (profile, server.time) stay available.
    expect((await call(`${emulator.url}/rest/1/${webhook.code}/profile`)).status).toBe(200)
  })

  it("OAuth: a valid token in the query or the body, expired_token after its lifetime, invalid_token for a stranger", async () => {
    const portal = emulator.control.portal()
    emulator.control.clock.freeze()
    const token = portal.issueToken({ userId: 2, lifetimeSeconds: 3600 }, emulator.control.clock.now())
    const url = `${emulator.url}/rest/imopenlines.network.message.add`
    expect((await call(url, { ...message(), auth: token.token })).body.result).toBe(true)
    expect(
      (await call(`${emulator.url}/rest/profile`, { auth: token.token }, { encoding: "query" })).body.result.ID
    ).toBe("2")
    emulator.control.clock.advance(3600 * 1000)
    expect(await call(url, { ...message(), USER_ID: 3, auth: token.token })).toEqual({
      status: 401,
      body: error("expired_token", "The access token provided has expired")
    })
    expect((await call(url, { ...message(), auth: "not-a-token" })).body.error).toBe("invalid_token")
  })

  it("insufficient_scope (401) for a token without the scope", async () => {
    const token = emulator.control.portal().issueToken({ userId: 1, scopes: ["crm"] }, emulator.control.clock.now())
    const answer = await call(`${emulator.url}/rest/imopenlines.network.message.add`, {
      ...message(),
      auth: token.token
    })
    expect(answer).toEqual({
      status: 401,
      body: error("insufficient_scope", "The request requires higher privileges than provided by the access token")
    })
  })

  it("session auth works for other methods", async () => {
    const session = emulator.control.portal().openSession(3)
    const answer = await call(
      `${emulator.url}/rest/profile`,
      { sessid: session.sessid },
      { headers: { cookie: session.cookie } }
    )
    expect(answer.body.result.ID).toBe("3")
    const stolen = await call(`${emulator.url}/rest/profile`, { sessid: session.sessid })
    expect(stolen.body.error).toBe("NO_AUTH_FOUND")
  })

  it("serves several portals, each under /p/<id>/ and by its Host", async () => {
    const info = emulator.control.createPortal({
      users: [{ id: 1 }, { id: 7 }],
      webhooks: [{ userId: 1 }],
      lines: [{}]
    })
    const url = `${info.webhookUrls[0]}imopenlines.network.message.add`
    expect((await call(url, { CODE: info.lineCodes[0], USER_ID: 7, MESSAGE: "hi" })).body.result).toBe(true)
    expect(emulator.control.inbox(info.id, 7)).toHaveLength(1)
    expect(emulator.control.inbox()).toHaveLength(0)
    // fetch will not set Host; node:http will, as a reverse proxy in front of the emulator would.
    const byHost = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${info.webhookUrls[0]!.replace(`/p/${info.id}`, "")}profile`)
      http
        .get({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: info.domain } }, (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        })
        .on("error", reject)
    })
    expect(byHost).toBe(200)
  })
})

describe("the leaky bucket", () => {
  it("takes a burst up to its limit, refuses the rest with QUERY_LIMIT_EXCEEDED (503), then drains", async () => {
    emulator.control.configure("demo", { bucket: { limit: 10, drainPerSecond: 2 } })
    emulator.control.clock.freeze()
    try {
      const answers = await Promise.all(Array.from({ length: 15 }, () => call(`${emulator.webhookUrl}server.time`)))
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(10)
      const refused = answers.filter((answer) => answer.status !== 200)
      expect(refused).toHaveLength(5)
      for (const answer of refused) {
        expect(answer).toEqual({ status: 503, body: error("QUERY_LIMIT_EXCEEDED", "Too many requests") })
      }
      expect(emulator.control.counters().bucketRejections).toBe(5)
      // Refused requests do not fill the bucket: one second drains two units.
      emulator.control.clock.advance(1000)
      expect((await call(`${emulator.webhookUrl}server.time`)).status).toBe(200)
      expect((await call(`${emulator.webhookUrl}server.time`)).status).toBe(200)
      expect((await call(`${emulator.webhookUrl}server.time`)).status).toBe(503)
      emulator.control.clock.advance(5000)
      const after = await Promise.all(Array.from({ length: 10 }, () => call(`${emulator.webhookUrl}server.time`)))
      expect(after.every((answer) => answer.status === 200)).toBe(true)
    } finally {
      emulator.control.configure("demo", { bucket: { limit: 50, drainPerSecond: 2 } })
    }
  })

  it("has Bitrix24's defaults: 50 requests, 2 per second", () => {
    expect(emulator.control.portal().bucket.options()).toEqual({ limit: 50, drainPerSecond: 2 })
  })
})

describe("operating time", () => {
  it("reports use per method, blocks with OPERATION_TIME_LIMIT (429) past the limit, and lifts the block when the window passes", async () => {
    emulator.control.configure("demo", {
      operating: { limitSeconds: 100, windowSeconds: 600, costSeconds: 0, costByMethod: { profile: 40 } }
    })
    emulator.control.clock.freeze()
    try {
      const first = await call(`${emulator.webhookUrl}profile`)
      expect(first.body.time.operating).toBe(40)
      expect(first.body.time.operating_reset_at).toBe(Math.floor(emulator.control.clock.now() / 1000) + 600)
      emulator.control.clock.advance(60_000)
      expect((await call(`${emulator.webhookUrl}profile`)).body.time.operating).toBe(80)
      expect((await call(`${emulator.webhookUrl}profile`)).body.time.operating).toBe(120)
      const blocked = await call(`${emulator.webhookUrl}profile`)
      expect(blocked).toEqual({
        status: 429,
        body: error("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
      })
      // Other methods are not blocked.
      expect((await call(`${emulator.webhookUrl}server.time`)).status).toBe(200)
      // The first call leaves the window after 600 s: 80 s used, under the limit again.
      emulator.control.clock.advance(540_000)
      const reset = await call(`${emulator.webhookUrl}profile`)
      expect(reset.status).toBe(200)
      expect(reset.body.time.operating).toBe(120)
    } finally {
      emulator.control.configure("demo", { operating: { limitSeconds: 420, windowSeconds: 600, costSeconds: 0 } })
    }
  })
})
