import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Qs from "qs"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import { call } from "./call.js"

let emulator: RunningPortalEmulator
let batchUrl: string

beforeAll(async () => {
  emulator = await startPortalEmulator()
  batchUrl = `${emulator.webhookUrl}batch`
})
afterAll(() => emulator.close())
beforeEach(() => emulator.control.reset())

const send = (userId: number, message = "hi") =>
  `imopenlines.network.message.add?${Qs.stringify({ CODE: emulator.lineCode, USER_ID: userId, MESSAGE: message })}`

describe("batch", () => {
  for (const encoding of ["form", "json"] as const) {
    it(`answers good and bad commands by name (${encoding})`, async () => {
      const answer = await call(
        batchUrl,
        {
          halt: 0,
          cmd: {
            me: "profile",
            now: "server.time",
            first: send(2),
            again: send(2),
            empty: send(3, ""),
            unknown: "no.such.method",
            nested: "batch?cmd[x]=profile",
            download: "download"
          }
        },
        { encoding }
      )
      expect(answer.status).toBe(200)
      const { result } = answer.body
      expect(Object.keys(result.result)).toEqual(["me", "now", "first"])
      expect(result.result.me.ID).toBe("1")
      expect(result.result.first).toBe(true)
      expect(result.result_error).toEqual({
        again: {
          error: "USER_MESSAGE_LIMIT",
          error_description: "You cant send more than one message per week to each user."
        },
        empty: { error: "MESSAGE_EMPTY", error_description: "Message can't be empty" },
        unknown: { error: "ERROR_METHOD_NOT_FOUND", error_description: "Method not found!" },
        nested: { error: "ERROR_BATCH_METHOD_NOT_ALLOWED", error_description: "Method is not allowed for batch usage" },
        download: {
          error: "ERROR_BATCH_METHOD_NOT_ALLOWED",
          error_description: "Method is not allowed for batch usage"
        }
      })
      expect(Object.keys(result.result_time)).toEqual(["me", "now", "first"])
      expect(result.result_time.first).toHaveProperty("operating")
      expect(result.result_total).toEqual([])
      expect(result.result_next).toEqual([])
      expect(answer.body.time).toHaveProperty("start")
      expect(emulator.control.inbox(undefined, 2)).toHaveLength(1)
    })
  }

  it("costs one bucket unit, however many commands it carries", async () => {
    emulator.control.configure("demo", { bucket: { limit: 2, drainPerSecond: 0.001 } })
    try {
      const cmd = Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`m${index}`, "server.time"]))
      expect((await call(batchUrl, { cmd })).status).toBe(200)
      expect((await call(batchUrl, { cmd })).status).toBe(200)
      expect((await call(batchUrl, { cmd })).status).toBe(503)
    } finally {
      emulator.control.configure("demo", { bucket: { limit: 50, drainPerSecond: 2 } })
    }
  })

  it("answers every command past the 50th with ERROR_BATCH_LENGTH_EXCEEDED, and stays 200", async () => {
    const cmd = Object.fromEntries(Array.from({ length: 53 }, (_, index) => [`c${index}`, send(100 + index)]))
    const portal = emulator.control.portal()
    for (let index = 0; index < 53; index++) portal.addUser({ id: 100 + index })
    const answer = await call(batchUrl, { cmd })
    expect(answer.status).toBe(200)
    expect(Object.keys(answer.body.result.result)).toHaveLength(50)
    expect(answer.body.result.result_error).toEqual({
      c50: { error: "ERROR_BATCH_LENGTH_EXCEEDED", error_description: "Max batch length exceeded" },
      c51: { error: "ERROR_BATCH_LENGTH_EXCEEDED", error_description: "Max batch length exceeded" },
      c52: { error: "ERROR_BATCH_LENGTH_EXCEEDED", error_description: "Max batch length exceeded" }
    })
    expect(emulator.control.inbox()).toHaveLength(50)
  })

  it("halt=1 stops at the first error", async () => {
    const answer = await call(batchUrl, { halt: 1, cmd: { a: send(2), b: send(2), c: send(3) } })
    expect(Object.keys(answer.body.result.result)).toEqual(["a"])
    expect(Object.keys(answer.body.result.result_error)).toEqual(["b"])
    expect(emulator.control.inbox(undefined, 3)).toHaveLength(0)
  })

  it("keeps a list of commands as a list, and resolves $result references", async () => {
    const answer = await call(batchUrl, {
      cmd: [
        "profile",
        `imopenlines.network.message.add?CODE=${emulator.lineCode}&USER_ID=$result[0][ID]&MESSAGE=to+myself`
      ]
    })
    expect(answer.body.result.result).toEqual([expect.objectContaining({ ID: "1" }), true])
    expect(emulator.control.inbox(undefined, 1)).toHaveLength(1)
  })

  it("carries the caller's auth into each command: scope and session auth", async () => {
    const crmOnly = emulator.control.portal().addWebhook({ userId: 1, scopes: ["crm"] })
    const answer = await call(`${emulator.url}/rest/1/${crmOnly.code}/batch`, { cmd: { a: send(2), b: "profile" } })
    expect(answer.body.result.result_error).toEqual({ a: { error: "insufficient_scope", error_description: "" } })
    const session = emulator.control.portal().openSession(1)
    const bySession = await call(
      `${emulator.url}/rest/batch`,
      { sessid: session.sessid, cmd: { a: send(2) } },
      { headers: { cookie: session.cookie } }
    )
    expect(bySession.body.result.result_error.a.error).toBe("WRONG_AUTH_TYPE")
  })
})

describe("imopenlines.network.join", () => {
  it("joins a line published on Bitrix24 Network and returns its bot id; then the line can send", async () => {
    const other = emulator.control.createPortal({ lines: [{ name: "Partner line" }] })
    const code = other.lineCodes[0]!
    const url = `${emulator.webhookUrl}imopenlines.network.message.add`
    expect((await call(url, { CODE: code, USER_ID: 2, MESSAGE: "x" })).body.error).toBe("NOT_FOUND")
    const joined = await call(`${emulator.webhookUrl}imopenlines.network.join`, { CODE: code })
    expect(joined.status).toBe(200)
    expect(typeof joined.body.result).toBe("number")
    const again = await call(`${emulator.webhookUrl}imopenlines.network.join`, { CODE: code })
    expect(again.body.result).toBe(joined.body.result)
    expect((await call(url, { CODE: code, USER_ID: 2, MESSAGE: "x" })).body.result).toBe(true)
  })

  it("CODE, NOT_FOUND and IMBOT_ERROR as the server answers them", async () => {
    const join = (params: Record<string, unknown>) => call(`${emulator.webhookUrl}imopenlines.network.join`, params)
    expect((await join({ CODE: "short" })).body).toEqual({
      error: "CODE",
      error_description: "You entered an invalid code"
    })
    expect((await join({ CODE: "f".repeat(32) })).body).toEqual({
      error: "NOT_FOUND",
      error_description: "Line not found"
    })
    emulator.control.configure("demo", { imbotInstalled: false })
    try {
      expect((await join({ CODE: "f".repeat(32) })).body.error).toBe("IMBOT_ERROR")
    } finally {
      emulator.control.configure("demo", { imbotInstalled: true })
    }
  })
})
