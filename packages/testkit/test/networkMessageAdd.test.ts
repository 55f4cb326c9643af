import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import type { Encoding } from "./call.js"
import { call } from "./call.js"

let emulator: RunningPortalEmulator
let send: (params: Record<string, unknown>, encoding?: Encoding) => ReturnType<typeof call>

beforeAll(async () => {
  emulator = await startPortalEmulator()
  send = (params, encoding) =>
    call(`${emulator.webhookUrl}imopenlines.network.message.add.json`, params, { encoding: encoding ?? "form" })
})
afterAll(() => emulator.close())
beforeEach(() => emulator.control.reset())

const week = 7 * 24 * 3600 * 1000
const error = (code: string, description: string) => ({ error: code, error_description: description })

describe("imopenlines.network.message.add: success", () => {
  for (const encoding of ["form", "json", "query"] as const) {
    it(`accepts a message sent as ${encoding} and delivers it to the user's inbox`, async () => {
      const answer = await send({ CODE: emulator.lineCode, USER_ID: 2, MESSAGE: "  [b]Deal won[/b]  " }, encoding)
      expect(answer.status).toBe(200)
      expect(answer.body.result).toBe(true)
      const inbox = emulator.control.inbox(undefined, 2)
      expect(inbox).toHaveLength(1)
      expect(inbox[0]).toMatchObject({
        userId: 2,
        lineCode: emulator.lineCode,
        message: "[b]Deal won[/b]",
        urlPreview: true
      })
    })
  }

  it("answers with the full time object, in the server's field order", async () => {
    const answer = await send({ CODE: emulator.lineCode, USER_ID: 3, MESSAGE: "hi" })
    expect(Object.keys(answer.body.time)).toEqual([
      "start",
      "finish",
      "duration",
      "processing",
      "date_start",
      "date_finish",
      "operating_reset_at",
      "operating"
    ])
    const { time } = answer.body
    expect(Number.isInteger(time.start)).toBe(true)
    expect(time.finish).toBeGreaterThanOrEqual(time.start)
    expect(time.duration).toBeCloseTo(time.finish - time.start, 6)
    expect(time.date_start).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+03:00$/)
    expect(time.operating_reset_at).toBe(time.start + 600)
  })

  it("upper-cases parameter names and casts USER_ID as PHP does", async () => {
    const answer = await send({ code: emulator.lineCode, user_id: "4abc", message: "0" })
    expect(answer.body).toMatchObject({ result: true })
    expect(emulator.control.inbox(undefined, 4)[0]?.message).toBe("0")
  })

  it("turns link previews off only for exactly N", async () => {
    await send({ CODE: emulator.lineCode, USER_ID: 2, MESSAGE: "a", URL_PREVIEW: "N" })
    await send({ CODE: emulator.lineCode, USER_ID: 3, MESSAGE: "b", URL_PREVIEW: "n" })
    expect(emulator.control.inbox(undefined, 2)[0]?.urlPreview).toBe(false)
    expect(emulator.control.inbox(undefined, 3)[0]?.urlPreview).toBe(true)
  })

  it("takes nested parameters from the query string of a POST too", async () => {
    const query = new URLSearchParams({
      CODE: emulator.lineCode,
      USER_ID: "5",
      MESSAGE: "with attach",
      "ATTACH[0][MESSAGE]": "from the query"
    })
    const response = await fetch(`${emulator.webhookUrl}imopenlines.network.message.add?${query}`, { method: "POST" })
    expect(response.status).toBe(200)
    expect(emulator.control.inbox(undefined, 5)[0]?.attach).toMatchObject({ BLOCKS: [{ MESSAGE: "from the query" }] })
  })
})

describe("imopenlines.network.message.add: method errors, in the server's order", () => {
  const valid = () => ({ CODE: emulator.lineCode, USER_ID: 2, MESSAGE: "hello" })

  it("WRONG_AUTH_TYPE (403) for session auth", async () => {
    const session = emulator.control.portal().openSession(1)
    const answer = await call(
      `${emulator.url}/rest/imopenlines.network.message.add.json`,
      { ...valid(), sessid: session.sessid },
      { headers: { cookie: session.cookie } }
    )
    expect(answer).toEqual({
      status: 403,
      body: error("WRONG_AUTH_TYPE", "Access for this method not allowed by session authorization.")
    })
  })

  it("CODE (400) when CODE is missing or not 32 characters", async () => {
    for (const code of [undefined, "", "x".repeat(31), "x".repeat(33)]) {
      const answer = await send({ ...valid(), CODE: code })
      expect(answer).toEqual({ status: 400, body: error("CODE", "You entered an invalid code") })
    }
  })

  it("counts CODE in characters, not bytes", async () => {
    const answer = await send({ ...valid(), CODE: "й".repeat(32) })
    expect(answer.body.error).toBe("NOT_FOUND")
  })

  it("IMBOT_ERROR (400) when the imbot module is missing", async () => {
    emulator.control.configure("demo", { imbotInstalled: false })
    try {
      const answer = await send({ ...valid(), CODE: "x".repeat(32) })
      expect(answer).toEqual({ status: 400, body: error("IMBOT_ERROR", "Module IMBOT is not installed") })
    } finally {
      emulator.control.configure("demo", { imbotInstalled: true })
    }
  })

  it("NOT_FOUND (400) for an unknown, unjoined or blacklisted line", async () => {
    const portal = emulator.control.portal()
    const unjoined = portal.addLine({ joined: false })
    const blacklisted = portal.addLine({ blacklisted: true })
    for (const code of ["0".repeat(32), unjoined.code, blacklisted.code]) {
      const answer = await send({ ...valid(), CODE: code })
      expect(answer).toEqual({ status: 400, body: error("NOT_FOUND", "Line not found") })
    }
  })

  it("USER_ID_EMPTY (400) for an id that casts to 0", async () => {
    for (const userId of [undefined, 0, "0", "", "abc"]) {
      const answer = await send({ ...valid(), USER_ID: userId })
      expect(answer).toEqual({ status: 400, body: error("USER_ID_EMPTY", "User ID can't be empty") })
    }
  })

  it("MESSAGE_EMPTY (400) for a missing or blank message", async () => {
    for (const message of [undefined, "", "  \n\t "]) {
      const answer = await send({ ...valid(), MESSAGE: message })
      expect(answer).toEqual({ status: 400, body: error("MESSAGE_EMPTY", "Message can't be empty") })
    }
  })

  it("ATTACH_OVERSIZE (400) for an attachment of 60,000 characters or more", async () => {
    const answer = await send({ ...valid(), ATTACH: [{ MESSAGE: "x".repeat(60_000) }] })
    expect(answer).toEqual({
      status: 400,
      body: error("ATTACH_OVERSIZE", "You have exceeded the maximum allowable size of attach")
    })
  })

  it("ATTACH_ERROR (400) when no block survives or the value is not an array", async () => {
    for (const attach of [
      "not json",
      [{ MESSAGE: "   " }],
      [{ UNKNOWN: "x" }],
      { BLOCKS: [{ IMAGE: { LINK: "ftp://x" } }] }
    ]) {
      const answer = await send({ ...valid(), ATTACH: attach }, "json")
      expect(answer).toEqual({ status: 400, body: error("ATTACH_ERROR", "Incorrect attach params") })
    }
  })

  it("KEYBOARD_ERROR (400) when no button survives", async () => {
    for (const keyboard of [
      "text",
      [{ TEXT: "no action" }],
      [{ TEXT: "Run", COMMAND: "run" }],
      { BUTTONS: [{ TEXT: "", LINK: "https://x.test" }] }
    ]) {
      const answer = await send({ ...valid(), KEYBOARD: keyboard }, "json")
      expect(answer).toEqual({ status: 400, body: error("KEYBOARD_ERROR", "Incorrect keyboard params") })
    }
  })

  it("WRONG_REQUEST (400) when the send itself fails (no such user)", async () => {
    const answer = await send({ ...valid(), USER_ID: 999 })
    expect(answer).toEqual({ status: 400, body: error("WRONG_REQUEST", "Message isn't added") })
  })

  it("checks the weekly rule before the message, attachment and keyboard", async () => {
    await send(valid())
    const answer = await send({ ...valid(), MESSAGE: "", ATTACH: "broken", KEYBOARD: "broken" })
    expect(answer.body.error).toBe("USER_MESSAGE_LIMIT")
  })

  it("checks CODE before USER_ID, and USER_ID before MESSAGE", async () => {
    expect((await send({ MESSAGE: "" })).body.error).toBe("CODE")
    expect((await send({ CODE: emulator.lineCode, MESSAGE: "" })).body.error).toBe("USER_ID_EMPTY")
  })

  it("answers an internal error where PHP 8 would throw a TypeError (an array MESSAGE)", async () => {
    const answer = await send({ ...valid(), MESSAGE: ["a", "b"] }, "json")
    expect(answer.status).toBe(500)
    expect(answer.body.error).toBe("INTERNAL_SERVER_ERROR")
  })

  it("records nothing for a refused message", async () => {
    await send({ ...valid(), MESSAGE: "" })
    await send({ ...valid(), KEYBOARD: [{ TEXT: "x" }] }, "json")
    expect(emulator.control.inbox()).toHaveLength(0)
    expect((await send(valid())).body.result).toBe(true)
    expect(emulator.control.counters().rejected).toEqual({ MESSAGE_EMPTY: 1, KEYBOARD_ERROR: 1 })
  })
})

describe("the weekly rule", () => {
  const message = (userId: number, code = emulator.lineCode) => ({ CODE: code, USER_ID: userId, MESSAGE: "hi" })

  it("refuses a second message to the same user on the same line within 7 × 24 h", async () => {
    expect((await send(message(2))).body.result).toBe(true)
    const answer = await send(message(2))
    expect(answer).toEqual({
      status: 400,
      body: error("USER_MESSAGE_LIMIT", "You cant send more than one message per week to each user.")
    })
  })

  it("is a rolling window: refused one millisecond before the week ends, accepted after", async () => {
    emulator.control.clock.freeze()
    await send(message(2))
    emulator.control.clock.advance(week - 1)
    expect((await send(message(2))).body.error).toBe("USER_MESSAGE_LIMIT")
    emulator.control.clock.advance(1)
    expect((await send(message(2))).body.result).toBe(true)
  })

  it("is keyed on line and user: other users and other lines are not affected", async () => {
    const other = emulator.control.portal().addLine({})
    await send(message(2))
    expect((await send(message(3))).body.result).toBe(true)
    expect((await send(message(2, other.code))).body.result).toBe(true)
  })

  it("does not apply on a Partner (NFR) portal", async () => {
    emulator.control.configure("demo", { nfr: true })
    try {
      for (let index = 0; index < 3; index++) expect((await send(message(2))).body.result).toBe(true)
      expect(emulator.control.inbox(undefined, 2)).toHaveLength(3)
    } finally {
      emulator.control.configure("demo", { nfr: false })
    }
  })
})
