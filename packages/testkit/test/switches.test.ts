import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import { call } from "./call.js"

let emulator: RunningPortalEmulator

beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())

type Switch = "deleted" | "overloaded" | "restUnavailable" | "httpsRequired" | "userAccessDenied"

const withSwitch = async <A>(name: Switch, body: () => Promise<A>): Promise<A> => {
  emulator.control.configure("demo", { switches: { [name]: true } })
  try {
    return await body()
  } finally {
    emulator.control.configure("demo", { switches: { [name]: false } })
  }
}

const error = (code: string, description: string) => ({ error: code, error_description: description })

describe("portal-wide system errors", () => {
  it("PORTAL_DELETED (403) for every call, known method or not", async () => {
    await withSwitch("deleted", async () => {
      const expected = { status: 403, body: error("PORTAL_DELETED", "Portal was deleted") }
      expect(await call(`${emulator.webhookUrl}profile`)).toEqual(expected)
      expect(await call(`${emulator.webhookUrl}no.such.method`)).toEqual(expected)
    })
  })

  it("OVERLOAD_LIMIT (401) for webhooks and apps", async () => {
    const token = emulator.control.portal().issueToken({ userId: 1 }, emulator.control.clock.now())
    await withSwitch("overloaded", async () => {
      const expected = { status: 401, body: error("OVERLOAD_LIMIT", "REST API is blocked due to overload.") }
      expect(await call(`${emulator.webhookUrl}profile`)).toEqual(expected)
      expect(await call(`${emulator.url}/rest/profile`, { auth: token.token })).toEqual(expected)
    })
  })

  it("ACCESS_DENIED (401) when REST is not on the portal's plan", async () => {
    await withSwitch("restUnavailable", async () => {
      expect(await call(`${emulator.webhookUrl}profile`)).toEqual({
        status: 401,
        body: error("ACCESS_DENIED", "REST is available only on commercial plans.")
      })
    })
  })

  it("INVALID_REQUEST (401) for a webhook over plain HTTP when HTTPS is required", async () => {
    await withSwitch("httpsRequired", async () => {
      expect(await call(`${emulator.webhookUrl}profile`)).toEqual({
        status: 401,
        body: error("INVALID_REQUEST", "Https required.")
      })
    })
  })

  it("user_access_error (401) for an app restricted to other users", async () => {
    const token = emulator.control.portal().issueToken({ userId: 3 }, emulator.control.clock.now())
    await withSwitch("userAccessDenied", async () => {
      expect(await call(`${emulator.url}/rest/profile`, { auth: token.token })).toEqual({
        status: 401,
        body: error("user_access_error", "The user does not have access to the application.")
      })
      // Webhooks are not applications: they pass.
      expect((await call(`${emulator.webhookUrl}profile`)).status).toBe(200)
    })
  })

  it("counts every refusal by code", () => {
    expect(emulator.control.counters().rejected).toMatchObject({
      PORTAL_DELETED: 2,
      OVERLOAD_LIMIT: 2,
      ACCESS_DENIED: 1,
      INVALID_REQUEST: 1,
      user_access_error: 1
    })
  })
})
