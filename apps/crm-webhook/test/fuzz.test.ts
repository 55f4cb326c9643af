import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { FastCheck } from "effect"
import type { RunningListener } from "./harness.js"
import { startListener } from "./harness.js"

let emulator: RunningPortalEmulator
let listener: RunningListener

beforeAll(async () => {
  emulator = await startPortalEmulator()
  listener = await startListener({ emulator, rules: { rules: [] }, applicationToken: "the-real-token" })
})
afterAll(async () => {
  await listener.dispose()
  await emulator.close()
})

const brackets = FastCheck.array(
  FastCheck.constantFrom("[", "]", "=", "&", "%", "data", "auth", "FIELDS", "ID", "event", "%5B"),
  {
    maxLength: 60
  }
).map((parts) => parts.join(""))

const bodies = FastCheck.oneof(
  FastCheck.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
  FastCheck.string({ maxLength: 2048 }),
  brackets,
  FastCheck.nat({ max: 40 }).map((depth) => `${"data".concat("[a]".repeat(depth * 10))}=1&event=ONCRMDEALADD`),
  FastCheck.nat({ max: 5 }).map((size) => `${"k".repeat(1000 * (size + 1))}=${"v".repeat(1000)}`),
  FastCheck.json({ maxDepth: 6 }),
  FastCheck.record({ event: FastCheck.string(), ts: FastCheck.string(), auth: FastCheck.object() }).map((value) =>
    JSON.stringify(value)
  )
)

describe("the listener under hostile bodies", () => {
  it("answers every malformed body with a 4xx and stays up", async () => {
    const statuses = new Map<number, number>()
    await FastCheck.assert(
      FastCheck.asyncProperty(
        bodies,
        FastCheck.constantFrom("application/x-www-form-urlencoded", "application/json", "text/plain"),
        async (body, type) => {
          const response = await fetch(listener.eventsUrl, { method: "POST", headers: { "content-type": type }, body })
          await response.arrayBuffer()
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
          return response.status >= 400 && response.status < 500
        }
      ),
      { numRuns: 2_000 }
    )
    expect([...statuses.keys()].every((status) => status >= 400 && status < 500)).toBe(true)
    expect((await fetch(`${listener.url}/healthz`)).status).toBe(200)
    expect(await listener.events()).toEqual([])
  })
})
