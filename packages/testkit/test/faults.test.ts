import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"

let emulator: RunningPortalEmulator

beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.control.configure("demo", { faults: {} })
  emulator.control.reset()
})

/** What a client sees of one request: a status, or the kind of network failure. */
const outcome = async (path: string, init: RequestInit = {}, timeoutMs = 2_000): Promise<string> => {
  try {
    const response = await fetch(`${emulator.webhookUrl}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    await response.text()
    return String(response.status)
  } catch (error) {
    const cause = (error as { cause?: { code?: string; name?: string } }).cause
    return (error as Error).name === "TimeoutError" ? "timeout" : (cause?.code ?? cause?.name ?? "failed")
  }
}

const send = (userId: number) => {
  const body = new URLSearchParams({ CODE: emulator.lineCode, USER_ID: String(userId), MESSAGE: `to ${userId}` })
  return outcome("imopenlines.network.message.add", { method: "POST", body })
}

describe("fault injection", () => {
  it("the same seed gives the same faults for the same requests", async () => {
    const run = async () => {
      emulator.control.configure("demo", { faults: { seed: 42, serverErrorRate: 0.3, resetRate: 0.2 } })
      emulator.control.reset()
      const outcomes: Array<string> = []
      for (let index = 0; index < 30; index++) outcomes.push(await outcome("server.time"))
      return { outcomes, counters: emulator.control.counters().faults }
    }
    const first = await run()
    const second = await run()
    expect(second).toEqual(first)
    expect(first.outcomes).toContain("500")
    expect(first.outcomes.some((value) => value !== "200" && value !== "500")).toBe(true)
    expect(first.counters.serverErrors).toBe(first.outcomes.filter((value) => value === "500").length)
    expect(first.counters.resets).toBe(first.outcomes.filter((value) => value !== "200" && value !== "500").length)
    emulator.control.configure("demo", { faults: { seed: 7, serverErrorRate: 0.3, resetRate: 0.2 } })
    emulator.control.reset()
    const other: Array<string> = []
    for (let index = 0; index < 30; index++) other.push(await outcome("server.time"))
    expect(other).not.toEqual(first.outcomes)
  })

  it("a 5xx or a reset runs nothing: no message is recorded", async () => {
    emulator.control.configure("demo", { faults: { serverErrorRate: 1 } })
    expect(await send(2)).toBe("500")
    emulator.control.configure("demo", { faults: { resetRate: 1 } })
    expect(await send(2)).not.toBe("200")
    expect(emulator.control.inbox()).toHaveLength(0)
  })

  it("server errors carry the system error's code and the chosen status", async () => {
    emulator.control.configure("demo", {
      faults: { serverErrorRate: 1, serverErrorCode: "ERROR_UNEXPECTED_ANSWER", serverErrorStatus: 502 }
    })
    const response = await fetch(`${emulator.webhookUrl}server.time`)
    expect(response.status).toBe(502)
    expect(await response.json()).toEqual({
      error: "ERROR_UNEXPECTED_ANSWER",
      error_description: "Server returned an unexpected response."
    })
    emulator.control.configure("demo", { faults: { serverErrorRate: 1 } })
    expect(await (await fetch(`${emulator.webhookUrl}server.time`)).json()).toEqual({
      error: "INTERNAL_SERVER_ERROR",
      error_description: "Internal server error"
    })
  })

  it("a lost answer records the message, then drops the connection", async () => {
    emulator.control.configure("demo", { faults: { lostAnswerRate: 1 } })
    const seen = await send(3)
    expect(seen).not.toBe("200")
    expect(emulator.control.inbox(undefined, 3)).toHaveLength(1)
    expect(emulator.control.counters().faults.lostAnswers).toBe(1)
    // The ambiguous case: a resend is refused by the weekly rule, which proves the first one landed.
    emulator.control.configure("demo", { faults: {} })
    expect(await send(3)).toBe("400")
  })

  it("a hanging request never answers; the client gives up", async () => {
    emulator.control.configure("demo", { faults: { hangRate: 1, hangMs: 1_000 } })
    expect(await outcome("server.time", {}, 200)).toBe("timeout")
    expect(emulator.control.counters().faults.hangs).toBe(1)
  })

  it("latency is added and counted", async () => {
    emulator.control.configure("demo", { faults: { latencyMs: { min: 5, max: 20 } } })
    expect(await outcome("server.time")).toBe("200")
    expect(emulator.control.counters().faults.delayed).toBe(1)
  })
})
