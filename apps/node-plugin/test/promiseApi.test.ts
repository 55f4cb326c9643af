import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import type { Linecast } from "../src/index.js"
import { createLinecast, LinecastError, LinecastQuotaError, LinecastValidationError } from "../src/index.js"

let emulator: RunningPortalEmulator
let linecast: Linecast

beforeAll(async () => {
  emulator = await startPortalEmulator()
  linecast = await createLinecast({
    webhookUrl: emulator.webhookUrl,
    lineCode: emulator.lineCode,
    database: join(mkdtempSync(join(tmpdir(), "linecast-node-")), "linecast.sqlite")
  })
})
afterAll(async () => {
  await linecast.close()
  await emulator.close()
})

const inboxOf = (userId: number) => emulator.control.inbox("demo", userId).map((message) => message.message)

describe("the Promise API", () => {
  it("sends now and answers a receipt", async () => {
    const receipt = await linecast.send({ userId: 2, message: "[b]Hello[/b] from Promise land" })
    expect(receipt.attempts).toBe(1)
    expect(inboxOf(2)).toEqual(["[b]Hello[/b] from Promise land"])
  })

  it("rejects with Error subclasses that carry code, kind and retryable", async () => {
    const invalid = await linecast.send({ userId: 2, message: "   " }).catch((error: unknown) => error)
    expect(invalid).toBeInstanceOf(LinecastValidationError)
    expect(invalid).toBeInstanceOf(LinecastError)
    expect(invalid).toBeInstanceOf(Error)
    expect(invalid).toMatchObject({ code: "MESSAGE_EMPTY", kind: "validation", retryable: false })

    const quota = await linecast.send({ userId: 2, message: "again this week" }).catch((error: unknown) => error)
    expect(quota).toBeInstanceOf(LinecastQuotaError)
    expect(quota).toMatchObject({ code: "USER_MESSAGE_LIMIT", kind: "quota" })
  })

  it("enqueues durably and idempotently, and tells when a user can next be written to", async () => {
    const first = await linecast.enqueue({ userId: 3, message: "queued" }, { idempotencyKey: "order-1" })
    const again = await linecast.enqueue({ userId: 3, message: "queued" }, { idempotencyKey: "order-1" })
    expect(again.created).toBe(false)
    for (let tries = 0; tries < 300 && (await linecast.outbox.get(first.entry.id)).state !== "sent"; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect((await linecast.outbox.get(first.entry.id)).state).toBe("sent")
    expect(inboxOf(3)).toEqual(["queued"])
    const { nextAllowedAt } = await linecast.quota(3)
    expect(nextAllowedAt).toBeInstanceOf(Date)
    expect(nextAllowedAt!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000)
    expect((await linecast.quota(4)).nextAllowedAt).toBeUndefined()
    expect((await linecast.outbox.list({ state: "sent" })).map((entry) => entry.id)).toContain(first.entry.id)
  })

  it("refuses bad options with a clear error", async () => {
    await expect(createLinecast({})).rejects.toBeInstanceOf(LinecastValidationError)
    await expect(createLinecast({ webhookUrl: "http://portal.example/rest/1/secret/" })).rejects.toMatchObject({
      kind: "validation",
      code: "PortalAddressError"
    })
    const insecure = await createLinecast({ webhookUrl: "http://portal.example/rest/1/s3cr3tc0de/" }).catch(
      (error: Error) => error
    )
    expect(String((insecure as Error).message)).not.toContain("s3cr3tc0de")
    await expect(linecast.outbox.replay("no-such-entry")).rejects.toMatchObject({ code: "EntryNotFoundError" })
  })
})
