import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"

let emulator: RunningPortalEmulator
let url: string

beforeAll(async () => {
  emulator = await startPortalEmulator({ maxBodyBytes: 64 * 1024 })
  url = `${emulator.webhookUrl}imopenlines.network.message.add`
})
afterAll(() => emulator.close())

const post = async (body: string | Uint8Array, contentType: string) => {
  const response = await fetch(url, { method: "POST", headers: { "content-type": contentType }, body })
  return { status: response.status, body: (await response.json()) as { error: string } }
}

describe("bad input never crashes or hangs the emulator", () => {
  it("malformed JSON: a clear 400", async () => {
    expect(await post("{not json", "application/json")).toEqual({
      status: 400,
      body: { error: "EMULATOR_BAD_REQUEST", error_description: "Malformed JSON body" }
    })
    expect((await post("[1,2]", "application/json")).status).toBe(400)
    expect((await post("null", "application/json")).status).toBe(400)
  })

  it("broken form encoding is read as PHP reads it, leniently", async () => {
    const answer = await post("CODE=%zz&USER_ID[=&&&=x&MESSAGE", "application/x-www-form-urlencoded")
    expect(answer).toEqual({ status: 400, body: { error: "CODE", error_description: "You entered an invalid code" } })
  })

  it("oversized bodies: 413, declared or streamed", async () => {
    expect((await post("x".repeat(70 * 1024), "application/x-www-form-urlencoded")).status).toBe(413)
    const chunked = new ReadableStream({
      start(controller) {
        for (let index = 0; index < 20; index++) controller.enqueue(new TextEncoder().encode("y".repeat(8 * 1024)))
        controller.close()
      }
    })
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: chunked,
      duplex: "half"
    } as RequestInit)
    expect(response.status).toBe(413)
  })

  it("deep nesting, huge keys and wrong types get an answer, not a crash", async () => {
    const deep = `ATTACH${"[a]".repeat(200)}=1&CODE=${emulator.lineCode}&USER_ID=2&MESSAGE=x`
    expect((await post(deep, "application/x-www-form-urlencoded")).status).toBe(400)
    const hugeKey = `${"K".repeat(60_000)}=1`
    expect((await post(hugeKey, "application/x-www-form-urlencoded")).body.error).toBe("CODE")
    const wrongTypes = JSON.stringify({ CODE: [1], USER_ID: { a: 1 }, MESSAGE: 5 })
    expect((await post(wrongTypes, "application/json")).status).toBe(500)
    const binary = new Uint8Array(4096).map((_, index) => (index * 131) % 256)
    expect((await post(binary, "application/octet-stream")).status).toBe(400)
  })

  it("a client that disconnects mid-body leaves the emulator serving", async () => {
    const { port, hostname } = new URL(emulator.url)
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), hostname, () => {
        socket.write("POST /rest/profile HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial")
        socket.destroy()
        resolve()
      })
    })
    const response = await fetch(`${emulator.webhookUrl}server.time`)
    expect(response.status).toBe(200)
  })

  it("unknown paths and portals: JSON 404s", async () => {
    expect((await fetch(`${emulator.url}/nowhere`)).status).toBe(404)
    const unknownPortal = await fetch(`${emulator.url}/p/nope/rest/profile`)
    expect(unknownPortal.status).toBe(404)
    expect(((await unknownPortal.json()) as { error: string }).error).toBe("EMULATOR_PORTAL_NOT_FOUND")
  })
})
