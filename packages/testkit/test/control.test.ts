import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { PortalEmulator } from "../src/index.js"
import { call } from "./call.js"

const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as any })
const post = (url: string, body: unknown, method = "POST") =>
  fetch(url, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(json)

describe("the HTTP control API", () => {
  it.layer(PortalEmulator.layer())((it) => {
    it.effect("creates portals, seeds them, moves the clock, and reads inboxes and counters", () =>
      Effect.gen(function* () {
        const emulator = yield* PortalEmulator.PortalEmulator
        const control = `${emulator.url}/_emulator`
        const result = yield* Effect.promise(async () => {
          const created = await post(`${control}/portals`, {
            id: "acme",
            users: [{ id: 1 }],
            webhooks: [{ userId: 1 }]
          })
          const user = await post(`${control}/portals/acme/users`, { id: 9, name: "Nina" })
          const line = await post(`${control}/portals/acme/lines`, {})
          const duplicate = await post(`${control}/portals`, { id: "acme" })
          const invalid = await post(`${control}/portals`, { id: "Not Valid!" })
          const missing = await post(`${control}/portals/nope/users`, { id: 2 })
          const sendUrl = `${created.body.webhookUrls[0]}imopenlines.network.message.add`
          const sent = await call(sendUrl, { CODE: line.body.code, USER_ID: 9, MESSAGE: "hi" })
          const refused = await call(sendUrl, { CODE: line.body.code, USER_ID: 9, MESSAGE: "again" })
          const clock = await post(`${control}/clock`, { advanceSeconds: 7 * 24 * 3600 })
          const afterWeek = await call(sendUrl, { CODE: line.body.code, USER_ID: 9, MESSAGE: "next week" })
          const inbox = await fetch(`${control}/portals/acme/inbox?userId=9`).then(json)
          const counters = await fetch(`${control}/portals/acme/counters`).then(json)
          const patched = await post(`${control}/portals/acme`, { nfr: true }, "PATCH")
          const blacklisted = await post(
            `${control}/portals/acme/lines/${line.body.code}`,
            { blacklisted: true },
            "PATCH"
          )
          const notFound = await call(sendUrl, { CODE: line.body.code, USER_ID: 9, MESSAGE: "x" })
          const reset = await post(`${control}/reset`, {})
          return {
            created,
            user,
            duplicate,
            invalid,
            missing,
            sent,
            refused,
            clock,
            afterWeek,
            inbox,
            counters,
            patched,
            blacklisted,
            notFound,
            reset
          }
        })
        expect(result.created.status).toBe(201)
        expect(result.created.body.webhookUrls[0]).toMatch(/\/p\/acme\/rest\/1\/[0-9a-f]{16}\/$/)
        expect(result.user).toMatchObject({ status: 201, body: { id: 9, name: "Nina" } })
        expect(result.duplicate.status).toBe(400)
        expect(result.invalid.status).toBe(400)
        expect(result.missing.status).toBe(404)
        expect(result.sent.body.result).toBe(true)
        expect(result.refused.body.error).toBe("USER_MESSAGE_LIMIT")
        expect(result.clock.status).toBe(200)
        expect(result.afterWeek.body.result).toBe(true)
        expect(result.inbox.body.map((message: { message: string }) => message.message)).toEqual(["hi", "next week"])
        expect(result.counters.body).toMatchObject({ accepted: 2, rejected: { USER_MESSAGE_LIMIT: 1 } })
        expect(result.blacklisted.body.blacklisted).toBe(true)
        expect(result.notFound.body.error).toBe("NOT_FOUND")
        expect(result.reset.status).toBe(200)
        expect(emulator.control.inbox("acme")).toHaveLength(0)
      })
    )
  })
})
