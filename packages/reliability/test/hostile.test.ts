/**
 * Hostile input against `linecast serve`'s CRM listener: fuzzed bodies, forged tokens, replays, stale
 * timestamps, huge payloads and slow-loris connections. Every one is refused or deduplicated, nothing
 * is sent for it, the process stays up, its memory stays flat, and no answer, log or metric holds a
 * secret.
 */
import { connect, type Socket } from "node:net"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { scale, sleep } from "./support/chaos.js"
import { type CrmPortal, eventBody, postEvent, startCrmPortal } from "./support/crm.js"
import { report } from "./support/figures.js"
import { hostileBody, random } from "./support/fuzz.js"
import { findSecrets } from "./support/secrets.js"
import { killAll, outputs, startServe } from "./support/serve.js"

const portals: Array<CrmPortal> = []
afterAll(async () => {
  await killAll()
  for (const portal of portals) await portal.emulator.close()
})

const post = async (url: string, body: string | Uint8Array, contentType: string) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
      signal: AbortSignal.timeout(10_000)
    })
    return { status: response.status, text: await response.text() }
  } catch (error) {
    return { status: 0, text: String(error) }
  }
}

/** Opens connections that send their headers a byte at a time, for a bounded while. */
const slowLoris = async (port: number, connections: number, forMs: number) => {
  const sockets: Array<Socket> = []
  for (let index = 0; index < connections; index++) {
    const socket = connect(port, "127.0.0.1")
    socket.on("error", () => undefined)
    socket.write("POST /bitrix/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n")
    sockets.push(socket)
  }
  const until = Date.now() + forMs
  while (Date.now() < until) {
    for (const socket of sockets) if (!socket.destroyed) socket.write("X")
    await sleep(500)
  }
  return sockets
}

describe("hostile input against serve's CRM listener", () => {
  it(
    "refuses or dedupes everything, stays up, keeps its memory flat and leaks nothing",
    async () => {
      const portal = await startCrmPortal()
      portals.push(portal)
      const serve = await startServe(
        portal.env({ LINECAST_SQLITE_FILE: join(portal.folder, "linecast.sqlite"), LINECAST_PORT: "0" })
      )
      const answers: Array<{ readonly where: string; readonly text: string }> = []
      const statuses = new Map<number, number>()
      const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)
      const rng = random(11)
      const fuzzed = scale(200, 5_000)
      let inputs = 0

      const round = async (size: number) => {
        // Fuzzed bodies: none may be accepted.
        for (let index = 0; index < size; index++) {
          const { body, contentType } = hostileBody(rng)
          const answer = await post(serve.eventsUrl, body, contentType)
          count(answer.status)
          answers.push({ where: "fuzz answer", text: answer.text })
          inputs++
        }
        // Forged tokens, near misses included: refused.
        for (let index = 0; index < 20; index++) {
          const token = index % 2 === 0 ? portal.applicationToken.slice(0, -1) : `${portal.applicationToken}x`
          const deal = portal.addDeal(`forged-${inputs}`)
          const answer = await post(
            serve.eventsUrl,
            eventBody(portal, { id: deal.id, token }),
            "application/x-www-form-urlencoded"
          )
          expect(answer.status).toBe(401)
          answers.push({ where: "forged answer", text: answer.text })
          inputs++
        }
        // Stale timestamps: refused.
        for (let index = 0; index < 10; index++) {
          const deal = portal.addDeal(`stale-${inputs}`)
          const ts = Math.floor(Date.now() / 1000) - 7_200 - index * 86_400
          const answer = await post(
            serve.eventsUrl,
            eventBody(portal, { id: deal.id, ts }),
            "application/x-www-form-urlencoded"
          )
          expect(answer.status).toBe(400)
          inputs++
        }
        // Huge payloads: refused without reading them whole.
        for (const size of [100_000, 2_000_000, 16_000_000]) {
          const answer = await post(serve.eventsUrl, "a=".padEnd(size, "b"), "application/x-www-form-urlencoded")
          expect([0, 413]).toContain(answer.status)
          inputs++
        }
      }

      // A warm-up round first, so that memory is measured after the process has settled.
      await round(50)
      const before = serve.rss()
      await round(fuzzed)
      // Replays: the first copy accepted, every other one acknowledged as a duplicate.
      const replayed = portal.addDeal("replayed")
      const replayBody = eventBody(portal, { id: replayed.id })
      const replays = scale(20, 200)
      const replayAnswers: Array<string> = []
      for (let index = 0; index < replays; index++) {
        const answer = await post(serve.eventsUrl, replayBody, "application/x-www-form-urlencoded")
        expect(answer.status).toBe(200)
        replayAnswers.push(JSON.parse(answer.text).status)
        inputs++
      }
      expect(replayAnswers[0]).toBe("accepted")
      expect(replayAnswers.slice(1).every((status) => status === "duplicate")).toBe(true)
      // Slow-loris: while the connections dribble, an ordinary event still gets through.
      const port = Number(new URL(serve.url).port)
      const loris = slowLoris(port, scale(50, 400), scale(2_000, 20_000))
      const during = portal.addDeal("during-loris")
      expect(await postEvent(serve.eventsUrl, eventBody(portal, { id: during.id }), 10_000)).toBe(200)
      for (const socket of await loris) socket.destroy()
      inputs += scale(50, 400)
      const after = serve.rss()

      const health = await fetch(`${serve.url}/healthz`)
      expect(health.status).toBe(200)
      const metrics = await (await fetch(`${serve.url}/metrics`)).text()
      answers.push({ where: "metrics", text: metrics })
      // Exactly the two good events became messages: the replayed one once, the one sent during the attack.
      const deadline = Date.now() + 30_000
      while (portal.emulator.control.inbox("demo").length < 2 && Date.now() < deadline) await sleep(200)
      await sleep(1_000)
      const inbox = portal.emulator.control.inbox("demo")
      expect(inbox.map((message) => message.message).sort()).toEqual([during.text, replayed.text].sort())
      expect(serve.exited()).toBe(false)
      const accepted = statuses.get(200) ?? 0
      const serverErrors = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0)
      const leaks = findSecrets([...answers, ...outputs], portal.secrets)
      const growthMiB = Math.round((after - before) / 1_048_576)
      report("hostile-input", {
        load: `${inputs} hostile requests`,
        faults: 0,
        inputs,
        lost: 0,
        duplicated: inbox.length - 2,
        leaked: leaks.length,
        statuses: Object.fromEntries(statuses),
        rssBeforeMiB: Math.round(before / 1_048_576),
        rssAfterMiB: Math.round(after / 1_048_576),
        growthMiB
      })
      expect(accepted).toBe(0)
      expect(serverErrors).toBe(0)
      // Flat: a bounded growth (the heap settles lazily), not a leak proportional to the input.
      expect(growthMiB).toBeLessThan(96)
      expect(leaks).toEqual([])
    },
    scale(120_000, 900_000)
  )
})
