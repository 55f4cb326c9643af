import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Outbox } from "@linecast/delivery"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Redacted } from "effect"
import type { ConsoleRuntime } from "./harness.js"
import { startConsole, waitFor } from "./harness.js"

const token = "console-test-token-7f3a"
const secret = "hook-secret-c0de-1234"

let emulator: RunningPortalEmulator
let runtime: ConsoleRuntime
let base: string

beforeAll(async () => {
  emulator = await startPortalEmulator()
  const started = startConsole(emulator, {
    mode: "portal",
    credential: Redacted.make(token),
    lineCodes: [emulator.lineCode],
    secrets: [Redacted.make(secret)],
    portals: Effect.succeed([{ id: "default", breaker: "closed", token: "webhook" }])
  })
  runtime = started.runtime
  base = `${await started.url}/console`
})
afterAll(async () => {
  await runtime?.dispose()
  await emulator?.close()
})

const page = { authorization: `Bearer ${token}`, "x-linecast-console": "1" }

const api = async (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
  const response = await fetch(`${base}/api/${path}`, {
    method: init.method ?? "GET",
    headers: { ...page, ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
  })
  return { status: response.status, headers: response.headers, body: (await response.json()) as any }
}

const enqueue = (userId: number, text: string, key: string, notBefore?: number) =>
  runtime.runPromise(
    Effect.flatMap(Outbox.Outbox, (outbox) =>
      outbox.enqueue(
        { lineCode: emulator.lineCode, userId, message: text },
        { idempotencyKey: key, ...(notBefore === undefined ? {} : { notBefore }) }
      )
    )
  )

const setLineJoined = (joined: boolean) => {
  emulator.control.portal("demo").lines.get(emulator.lineCode)!.joined = joined
}

describe("access", () => {
  it("answers 401 without the credential or with a wrong one, and accepts bearer and basic auth", async () => {
    const bare = await fetch(`${base}/`)
    expect(bare.status).toBe(401)
    expect(bare.headers.get("www-authenticate")).toContain("Basic")
    const wrong = await api("session", { headers: { authorization: "Bearer nope" } })
    expect(wrong.status).toBe(401)
    expect(wrong.body.message).toMatch(/refused/)
    // The page's own requests get the message, not the browser's dialog.
    expect(wrong.headers.get("www-authenticate")).toBeNull()
    expect((await api("session")).status).toBe(200)
    const basic = `Basic ${Buffer.from(`operator:${token}`).toString("base64")}`
    const html = await fetch(`${base}/`, { headers: { authorization: basic } })
    expect(html.status).toBe(200)
    expect(await html.text()).toContain('<script type="module"')
    expect(html.headers.get("content-security-policy")).toContain("default-src 'self'")
  })

  it("refuses state changes without the console's header or from another origin", async () => {
    const { entry } = await enqueue(6, "held back", "csrf-1", Date.now() + 3_600_000)
    const noHeader = await api(`messages/${entry.id}/replay`, {
      method: "POST",
      headers: { "x-linecast-console": "" }
    })
    expect(noHeader.status).toBe(403)
    const foreign = await api(`messages/${entry.id}/replay`, {
      method: "POST",
      headers: { origin: "https://evil.example" }
    })
    expect(foreign.status).toBe(403)
    expect(foreign.body.message).toContain("evil.example")
    const own = await api(`messages/${entry.id}/replay`, { method: "POST", headers: { origin: new URL(base).origin } })
    // Past the guard: refused for what it is (queued), not for where it came from.
    expect(own.status).toBe(409)
  })
})

describe("the outbox", () => {
  it("pages from the database and filters; bad filters answer 400 with the reason", async () => {
    const later = Date.now() + 3_600_000
    for (let index = 0; index < 5; index++) await enqueue(5, `paged ${index}`, `page-${index}`, later)
    const first = await api("messages?user=5&limit=2")
    const second = await api("messages?user=5&limit=2&offset=2")
    expect(first.status).toBe(200)
    expect(first.body.total).toBe(5)
    expect(first.body.items).toHaveLength(2)
    expect(first.body.items[0].message.message).toBe("paged 4")
    expect(second.body.items.map((item: any) => item.message.message)).toEqual(["paged 2", "paged 1"])
    expect((await api("messages?key=page-3")).body.items.map((item: any) => item.idempotencyKey)).toEqual(["page-3"])
    expect((await api(`messages?line=${emulator.lineCode}&state=queued,deferred&user=5`)).body.total).toBe(5)
    expect((await api("messages?portal=elsewhere")).body.total).toBe(0)
    for (const bad of ["state=lost", "user=abc", "limit=1000", "offset=-1", "colour=red"]) {
      const answer = await api(`messages?${bad}`)
      expect(answer.status).toBe(400)
      expect(answer.body.error).toBe("bad-filter")
      expect(answer.body.message.length).toBeGreaterThan(10)
    }
  })

  it("shows a message's history and preview; unknown ids are 404; a sent message is not replayed", async () => {
    const { entry } = await enqueue(2, "[b]Deal won[/b]", "won-1")
    await waitFor(runtime, entry.id, (current) => current.state === "sent")
    const detail = await api(`messages/${entry.id}`)
    expect(detail.status).toBe(200)
    expect(detail.body.history.map((record: any) => record.state).at(-1)).toBe("sent")
    expect(detail.body.history[0].state).toBe("queued")
    expect(detail.body.preview.wire).toMatchObject({ MESSAGE: "[b]Deal won[/b]", USER_ID: 2 })
    expect(detail.body.preview.validation.ok).toBe(true)
    const unknown = await api("messages/no-such-id")
    expect(unknown.status).toBe(404)
    expect(unknown.body.message).toContain("no-such-id")
    expect((await api("messages/no-such-id/replay", { method: "POST" })).status).toBe(404)
    const refused = await api(`messages/${entry.id}/replay`, { method: "POST" })
    expect(refused.status).toBe(409)
    expect(refused.body.message).toMatch(/is sent, no longer dead/)
    expect((await api("nothing-here")).status).toBe(404)
  })

  it("explains a dead letter in plain words, replays a selection, and purges only dead letters", async () => {
    setLineJoined(false)
    try {
      const { entry } = await enqueue(3, "lost line", "dead-1")
      await waitFor(runtime, entry.id, (current) => current.state === "dead")
      const listed = await api("messages?state=dead")
      const dead = listed.body.items.find((item: any) => item.id === entry.id)
      expect(dead.reason).toMatch(/not joined/)
      expect(dead.lastError.code).toBe("NOT_FOUND")
      const summary = await api("summary")
      expect(summary.body.counts.dead).toBeGreaterThanOrEqual(1)
      setLineJoined(true)
      const replayed = await api("messages/replay", { method: "POST", body: { ids: [entry.id, "no-such-id"] } })
      expect(replayed.body.results).toEqual([
        { id: entry.id, ok: true, state: "queued" },
        { id: "no-such-id", ok: false, message: expect.stringContaining("no-such-id") }
      ])
      await waitFor(runtime, entry.id, (current) => current.state === "sent")
      expect((await api(`messages/${entry.id}`)).body.history.some((record: any) => record.state === "dead")).toBe(true)

      setLineJoined(false)
      const other = await enqueue(4, "lost again", "dead-2")
      await waitFor(runtime, other.entry.id, (current) => current.state === "dead")
      const purged = await api("messages/purge", { method: "POST", body: { ids: [other.entry.id, entry.id] } })
      expect(purged.body).toEqual({ purged: 1, skipped: 1 })
      expect((await api(`messages/${other.entry.id}`)).status).toBe(404)
      expect((await api(`messages/${entry.id}`)).status).toBe(200)
      expect((await api("messages/purge", { method: "POST", body: { ids: [] } })).status).toBe(400)
      expect((await api("messages/purge", { method: "POST", body: "not json{" })).status).toBe(400)
    } finally {
      setLineJoined(true)
    }
  })
})

describe("quota, portals, preview", () => {
  it("shows the last accepted send and the next allowed time after a send", async () => {
    const { entry } = await enqueue(1, "first of the week", "quota-1")
    const sent = await waitFor(runtime, entry.id, (current) => current.state === "sent")
    await enqueue(1, "second of the week", "quota-2")
    const quota = await api(`quota?user=1&line=${emulator.lineCode}`)
    expect(quota.status).toBe(200)
    expect(quota.body.lastSentAt).toBe(sent.receipt!.sentAt)
    expect(quota.body.nextAllowedAt).toBe(sent.receipt!.sentAt + 7 * 24 * 3600 * 1000)
    expect(quota.body.pending.map((pending: any) => pending.idempotencyKey)).toEqual(["quota-2"])
    expect((await api("quota?line=x")).status).toBe(400)
    const open = await api("quota?user=6")
    expect(open.body).toMatchObject({ lastSentAt: null, nextAllowedAt: null })
  })

  it("reports the injected portal status, and has no inboxes outside demo mode", async () => {
    expect((await api("portals")).body.portals).toEqual([{ id: "default", breaker: "closed", token: "webhook" }])
    const inboxes = await api("inboxes")
    expect(inboxes.status).toBe(404)
    expect(inboxes.body.message).toMatch(/demo mode/)
  })

  it("validates a typed-in message as Bitrix24 would", async () => {
    const wire = {
      CODE: emulator.lineCode,
      USER_ID: 2,
      MESSAGE: "Hello [b]there[/b]",
      ATTACH: [{ MESSAGE: "block" }],
      KEYBOARD: [{ TEXT: "Open", LINK: "https://example.com/" }]
    }
    const valid = await api("preview", { method: "POST", body: { wire } })
    expect(valid.body.validation).toMatchObject({ ok: true, attachmentLimit: 60_000 })
    expect(valid.body.validation.attachmentSize).toBeGreaterThan(0)
    const oversize = await api("preview", {
      method: "POST",
      body: { wire: { ...wire, ATTACH: [{ MESSAGE: "x".repeat(61_000) }] } }
    })
    expect(oversize.body.validation).toMatchObject({ ok: false, code: "ATTACH_OVERSIZE", field: "attachment" })
    const keyboard = await api("preview", {
      method: "POST",
      body: { wire: { ...wire, KEYBOARD: [{ TEXT: "no link" }] } }
    })
    expect(keyboard.body.validation).toMatchObject({ ok: false, code: "KEYBOARD_ERROR" })
    expect((await api("preview", { method: "POST", body: { nothing: true } })).status).toBe(400)
  })

  it("never sends a configured secret, even when a message holds it", async () => {
    const { entry } = await enqueue(6, `leaked ${secret} here`, "secret-1", Date.now() + 3_600_000)
    const detail = await api(`messages/${entry.id}`)
    const text = JSON.stringify(detail.body)
    expect(text).not.toContain(secret)
    expect(detail.body.entry.message.message).toBe("leaked [redacted] here")
  })
})
