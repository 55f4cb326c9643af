import { BBCode } from "@linecast/core"
import { Outbox } from "@linecast/delivery"
import type { RunningPortalEmulator, RunningTelegramEmulator, TelegramEntity } from "@linecast/testkit"
import { startPortalEmulator, startTelegramEmulator } from "@linecast/testkit"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { RunningRelay } from "../src/startRelay.js"
import {
  eventually,
  freshSqliteFile,
  mediaSecret,
  operator,
  replies,
  replyMatching,
  startTestRelay
} from "./harness.js"

let telegram: RunningTelegramEmulator
let portal: RunningPortalEmulator

beforeAll(async () => {
  telegram = await startTelegramEmulator()
  portal = await startPortalEmulator()
})
afterAll(async () => {
  await telegram.close()
  await portal.close()
})
beforeEach(() => {
  telegram.control.reset()
  portal.control.reset()
  portal.control.configure("demo", { weeklyWindowSeconds: 2 })
})

const withRelay = async (
  use: (relay: RunningRelay) => Promise<void>,
  options: Parameters<typeof startTestRelay>[0]["options"] = {}
) => {
  const relay = await startTestRelay({ telegram, portal, options })
  try {
    await use(relay)
  } finally {
    await relay.stop()
  }
}

/** An entity over the first occurrence of `word` (after `from`). */
const over = (
  text: string,
  word: string,
  type: string,
  extra: Partial<TelegramEntity> = {},
  from = 0
): TelegramEntity => {
  const offset = text.indexOf(word, from)
  if (offset < 0) throw new Error(`"${word}" is not in the text`)
  return { type, offset, length: word.length, ...extra }
}

const inbox = (userId: number) => portal.control.inbox("demo", userId)

describe("the Telegram relay", () => {
  it("relays an operator's text with entities as the right BB codes, escaping the rest", () =>
    withRelay(async () => {
      const body = "Hello bold italic under strike link code @boris_tg @nobody [b]x[/b] a--b"
      const args = `boris ${body}`
      const text = `/send ${args}`
      const entities = [
        over(text, "bold italic", "bold"),
        over(text, "italic", "italic"),
        over(text, "under", "underline"),
        over(text, "strike", "strikethrough"),
        over(text, "link", "text_link", { url: "https://example.com/a?b=1" }),
        over(text, "code", "code"),
        over(text, "@boris_tg", "mention"),
        over(text, "@nobody", "mention")
      ]
      telegram.control.sendCommand({ user: operator }, "send", args, entities)
      expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to boris.")
      expect(inbox(2).map((message) => message.message)).toEqual([
        `Hello [b]bold [i]italic[/i][/b] [u]under[/u] [s]strike[/s] [url=https://example.com/a?b=1]link[/url] [code]code[/code] [USER=2]@boris_tg[/USER] @nobody ${BBCode.escapeText("[b]x[/b] a--b")}`
      ])
    }))

  it("relays a photo as an IMAGE block whose link is the relay's own, signed, and holds no bot token", () =>
    withRelay(async (relay) => {
      const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 8, 7, 6])
      const caption = "Look at this"
      telegram.control.sendPhoto({ user: operator }, bytes, {
        caption,
        captionEntities: [{ type: "bold", offset: 0, length: 4 }],
        width: 800,
        height: 600
      })
      expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to carla.")
      const [message] = inbox(3)
      expect(message?.message).toBe("[b]Look[/b] at this")
      const attach = JSON.stringify(message?.attach)
      const link = /"LINK":"([^"]+)"/.exec(attach)?.[1]?.replaceAll("\\/", "/")
      expect(link).toBeDefined()
      expect(attach).toContain('"IMAGE"')
      expect(link!.startsWith(`${relay.url}/media/`)).toBe(true)
      expect(link).not.toContain(telegram.token)
      expect(link).not.toContain(telegram.token.split(":")[1])
      expect(link).not.toContain("api.telegram.org")
      expect(link).not.toContain(telegram.apiRoot)
      expect(attach).not.toContain(telegram.token.split(":")[1])
      // The link serves the bytes; a forged one is refused.
      const served = await fetch(link!)
      expect(served.status).toBe(200)
      expect(served.headers.get("content-type")).toBe("image/jpeg")
      expect(new Uint8Array(await served.arrayBuffer())).toEqual(bytes)
      const forged = link!.replace(/\.([A-Za-z0-9_-]+)\//, ".AAAA$1/")
      expect((await fetch(forged)).status).toBe(403)
    }))

  it("relays a document as a FILE block, and refuses oversized media and unsupported kinds with a reason", () =>
    withRelay(async () => {
      telegram.control.sendDocument({ user: operator }, new TextEncoder().encode("a,b\n"), {
        fileName: "report.csv",
        mimeType: "text/csv"
      })
      expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to carla.")
      const [message] = inbox(3)
      expect(message?.message).toBe("File: report.csv")
      expect(JSON.stringify(message?.attach)).toMatch(/"FILE":\[\{"LINK":"[^"]+","NAME":"report.csv","SIZE":4\}\]/)
      telegram.control.sendPhoto({ user: operator }, new Uint8Array([1]), { fileSize: 5 * 1024 * 1024 })
      expect(await replyMatching(telegram, operator, /photo is/)).toBe(
        "Not sent: the photo is 5.0 MB; the limit is 1.0 MB."
      )
      telegram.control.injectUpdate({
        message: {
          message_id: 999,
          from: { id: operator, is_bot: false, first_name: "Op" },
          chat: { id: operator, type: "private" },
          date: 1,
          sticker: {
            file_id: "x",
            file_unique_id: "y",
            width: 1,
            height: 1,
            is_animated: false,
            is_video: false,
            type: "regular"
          }
        }
      })
      expect(await replyMatching(telegram, operator, /sticker/)).toBe(
        "Not sent: a sticker cannot be sent to Bitrix24; I relay text, photos and documents."
      )
      telegram.control.sendCommand({ user: operator }, "frobnicate")
      expect(await replyMatching(telegram, operator, /frobnicate/)).toBe(
        "I do not know the command /frobnicate, so nothing was sent. Try /help."
      )
      telegram.control.sendCommand({ user: operator }, "send", "nobody hi")
      expect(await replyMatching(telegram, operator, /nobody/)).toMatch(/^I do not know "nobody", so nothing was sent/)
      telegram.control.sendCommand({ user: operator }, "send", "boris")
      expect(await replyMatching(telegram, operator, /^Usage: \/send/)).toMatch(/Nothing was sent/)
      telegram.control.sendCommand({ user: operator }, "broadcast", "nogroup hi")
      expect(await replyMatching(telegram, operator, /nogroup/)).toMatch(/There is no group "nogroup"/)
      expect(inbox(3)).toHaveLength(1)
      expect(inbox(2)).toHaveLength(0)
    }))

  it("answers a second message in the same week as deferred, and delivers it when the window opens", () =>
    withRelay(async () => {
      telegram.control.sendCommand({ user: operator }, "send", "boris first")
      expect(await replyMatching(telegram, operator, /Sent|Deferred|Not sent/)).toBe("Sent to boris.")
      telegram.control.sendCommand({ user: operator }, "send", "boris second")
      const deferred = await replyMatching(telegram, operator, /Deferred|Not sent/)
      expect(deferred).toMatch(
        /^Deferred until \d{4}-\d\d-\d\d \d\d:\d\d UTC: Bitrix24 allows one message a week to boris, and this week's is used\./
      )
      telegram.control.sendCommand({ user: operator }, "quota", "boris")
      expect(await replyMatching(telegram, operator, /written to/)).toMatch(
        /^boris was already written to this week and can next be written to on|^boris can be written to now\./
      )
      await eventually(() => inbox(2).length === 2, "the deferred message to be delivered")
      expect(inbox(2).map((message) => message.message)).toEqual(["first", "second"])
      expect(await replyMatching(telegram, operator, /^Delivered/)).toBe(
        "Delivered to boris: your message that was waiting has gone out."
      )
    }))

  it("merges what waits into a digest when configured so, and says so", () =>
    withRelay(
      async () => {
        telegram.control.sendCommand({ user: operator }, "send", "dmitri one")
        expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to dmitri.")
        telegram.control.sendCommand({ user: operator }, "send", "dmitri two")
        expect(await replyMatching(telegram, operator, /digest/)).toMatch(
          /will be merged into one digest that goes out on/
        )
        await eventually(() => inbox(4).length === 2, "the digest to be delivered")
        expect(inbox(4)[1]?.message).toContain("two")
      },
      { policy: "digest" }
    ))

  it("handles one chat's updates in order", () =>
    withRelay(async (relay) => {
      const names = ["boris", "carla", "dmitri", "5", "6"]
      for (const name of names) telegram.control.sendCommand({ user: operator }, "send", `${name} in order`)
      await eventually(() => replies(telegram, operator).length === names.length, "five answers")
      expect(replies(telegram, operator)).toEqual([
        "Sent to boris.",
        "Sent to carla.",
        "Sent to dmitri.",
        "Sent to user 5.",
        "Sent to user 6."
      ])
      const entries = await relay.run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.list()))
      const byCreation = [...entries].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      expect(byCreation.map((entry) => entry.message.userId)).toEqual([2, 3, 4, 5, 6])
    }))

  it("refuses a non-operator politely and relays nothing", () =>
    withRelay(async (relay) => {
      telegram.control.sendText({ user: 555 }, "let me in")
      telegram.control.sendCommand({ user: 555 }, "send", "boris hi")
      await eventually(() => replies(telegram, 555).length === 2, "two refusals")
      expect(replies(telegram, 555)[0]).toMatch(
        /^Sorry, you are not allowed to send messages through this bot, so nothing was sent/
      )
      expect(portal.control.inbox("demo")).toHaveLength(0)
      expect(await relay.run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count()))).toBe(0)
    }))

  it("delivers the same update twice as one message (webhook with a secret token; a wrong one is 401)", () =>
    withRelay(
      async (relay) => {
        expect(telegram.control.webhook?.url).toBe(relay.webhookUrl)
        const update = telegram.control.sendCommand({ user: operator }, "send", "boris only once")
        expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to boris.")
        telegram.control.redeliver(update.update_id)
        await eventually(() => replies(telegram, operator).length === 2, "the second answer")
        expect(replies(telegram, operator)[1]).toBe("Sent to boris.")
        expect(inbox(2).map((message) => message.message)).toEqual(["only once"])
        const forged = await fetch(relay.webhookUrl!, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "wrong" },
          body: JSON.stringify({ ...update, update_id: update.update_id + 100 })
        })
        expect(forged.status).toBe(401)
        const missing = await fetch(relay.webhookUrl!, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...update, update_id: update.update_id + 101 })
        })
        expect(missing.status).toBe(401)
        expect(inbox(2)).toHaveLength(1)
      },
      { mode: "webhook", webhook: { secretToken: Redacted.make("webhook_secret_for_tests") } }
    ))

  it("retries Telegram's own 429s and still answers", () =>
    withRelay(async () => {
      telegram.control.tooManyRequests({ retryAfter: 1, count: 1, methods: ["sendMessage"] })
      telegram.control.sendCommand({ user: operator }, "send", "carla hello")
      expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to carla.")
      expect(telegram.control.counters.tooManyRequests).toBe(1)
    }))

  it("loses nothing when stopped (SIGTERM) while sending: a restart on the same database delivers", async () => {
    const database = freshSqliteFile()
    // The portal holds every request: the send is under way when the relay stops.
    portal.control.configure("demo", { faults: { hangRate: 1, hangMs: 5_000 } })
    const first = await startTestRelay({ telegram, portal, database, options: { outcomeWaitMs: 300 } })
    telegram.control.sendCommand({ user: operator }, "send", "boris in flight")
    expect(await replyMatching(telegram, operator, /on its way|checking/)).toMatch(
      /^Saved for boris and on its way|checking/
    )
    telegram.control.sendCommand({ user: operator }, "send", "carla right at the stop")
    await first.stop()
    portal.control.configure("demo", { faults: { hangRate: 0 } })
    const second = await startTestRelay({ telegram, portal, database })
    try {
      await eventually(() => inbox(2).length >= 1 && inbox(3).length >= 1, "both messages after the restart", 20_000)
      await eventually(() => telegram.control.pendingUpdates().length === 0, "the updates to be confirmed")
      expect(inbox(2).map((message) => message.message)).toEqual(["in flight"])
      expect(inbox(3).map((message) => message.message)).toEqual(["right at the stop"])
    } finally {
      await second.stop()
    }
  })

  it("never logs the bot token or its secrets, even when Telegram fails", async () => {
    const written: Array<string> = []
    const capture = (stream: NodeJS.WriteStream) => {
      const original = stream.write.bind(stream)
      stream.write = ((chunk: string | Uint8Array, ...rest: Array<any>) => {
        written.push(String(chunk))
        return original(chunk, ...rest)
      }) as typeof stream.write
      return () => {
        stream.write = original
      }
    }
    const restoreOut = capture(process.stdout)
    const restoreErr = capture(process.stderr)
    const methods = ["log", "info", "warn", "error", "debug"] as const
    const originals = methods.map((method) => console[method])
    for (const method of methods) {
      const original = console[method]
      console[method] = (...args: Array<unknown>) => {
        written.push(
          args.map((arg) => (arg instanceof Error ? `${arg.message} ${String(arg.cause)}` : String(arg))).join(" ")
        )
        original(...args)
      }
    }
    try {
      await withRelay(async () => {
        telegram.control.sendPhoto({ user: operator }, new Uint8Array([1, 2, 3]), { caption: "pic" })
        expect(await replyMatching(telegram, operator, /Sent|Not sent/)).toBe("Sent to carla.")
        const link = /"LINK":"([^"]+)"/.exec(JSON.stringify(inbox(3)[0]?.attach))![1]!.replaceAll("\\/", "/")
        // Telegram forgets the file: the link fails, and the failure is logged.
        telegram.control.reset()
        expect((await fetch(link)).status).toBe(502)
        telegram.control.sendText({ user: 555 }, "not an operator")
        await eventually(() => replies(telegram, 555).length === 1, "a refusal")
      })
    } finally {
      restoreOut()
      restoreErr()
      methods.forEach((method, index) => {
        console[method] = originals[index]!
      })
    }
    const output = written.join("\n")
    expect(output).toContain("media link failed")
    expect(output).not.toContain(telegram.token.split(":")[1])
    expect(output).not.toContain(mediaSecret)
  })

  it("answers /help and /status, and its Refresh button", () =>
    withRelay(async () => {
      telegram.control.sendCommand({ user: operator }, "help")
      expect(await replyMatching(telegram, operator, /^I relay/)).toContain("/send <user> <text>")
      telegram.control.sendCommand({ user: operator }, "status")
      const status = await telegram.control.waitForSent((sent) => /^Waiting to be sent/.test(sent.text ?? ""))
      expect(status.text).toMatch(/Portal: ok\.$/)
      telegram.control.sendCallbackQuery({ user: operator }, "status", status.messageId)
      await telegram.control.waitForSent((sent) => sent.method === "answerCallbackQuery")
      await eventually(
        () => replies(telegram, operator).filter((text) => text.startsWith("Waiting to be sent")).length === 2,
        "a refreshed status"
      )
    }))
})
