import * as SqlClient from "@effect/sql/SqlClient"
import { BBCode } from "@linecast/core"
import { Outbox } from "@linecast/delivery"
import type { RunningPortalEmulator, RunningTelegramEmulator, SentByBot, TelegramEntity } from "@linecast/testkit"
import { startPortalEmulator, startTelegramEmulator } from "@linecast/testkit"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { StartedRelay } from "../src/startRelay.js"
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
  use: (relay: StartedRelay) => Promise<void>,
  options: Parameters<typeof startTestRelay>[0]["options"] = {},
  worker = false
) => {
  const relay = await startTestRelay({ telegram, portal, options, worker })
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

/** A report on one message, or the reports a chat had ready together, in one message. */
const isReport = (text: string) => /^(Delivered|Not delivered|\d+ reports:\n)/.test(text)
/** The answers to the operator's messages (not the reports that follow). */
const answers = () => replies(telegram, operator).filter((text) => !isReport(text))
/** The reports sent to the operator so far that match. */
const reports = (pattern: RegExp) =>
  telegram.control
    .sent(operator)
    .filter((sent) => sent.method === "sendMessage" && isReport(sent.text ?? "") && pattern.test(sent.text ?? ""))
/** Waits for a report to the operator. */
const reportMatching = (pattern: RegExp) =>
  telegram.control.waitForSent(
    (sent) => sent.chatId === operator && isReport(sent.text ?? "") && pattern.test(sent.text ?? ""),
    15_000
  )
/** The message a reply answers. */
const repliedTo = (sent: SentByBot) =>
  (sent.params.reply_parameters as { readonly message_id?: number } | undefined)?.message_id
/** The reports the relay still owes (rows in its table). */
const owedReports = (relay: StartedRelay) =>
  relay
    .run(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM linecast_telegram_reports`
      )
    )
    .then((rows) => Number(rows[0]?.n ?? -1))

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
      const update = telegram.control.sendCommand({ user: operator }, "send", args, entities)
      expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(
        /^Queued for boris: saved and on its way/
      )
      const report = await reportMatching(/Delivered|Not delivered/)
      expect(report.text).toBe("Delivered to boris.")
      expect(repliedTo(report)).toBe((update.message as { message_id: number }).message_id)
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
      expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for carla/)
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to carla.")
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
      expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for carla/)
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to carla.")
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
      expect(await replyMatching(telegram, operator, /Queued|Deferred|Not sent/)).toMatch(/^Queued for boris/)
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to boris.")
      const second = telegram.control.sendCommand({ user: operator }, "send", "boris second")
      // The answer itself says so (the ledger is asked at once), not only the report that follows the workflow.
      const answer = await telegram.control.waitForSent(
        (sent) => repliedTo(sent) === (second.message as { message_id: number }).message_id,
        15_000
      )
      const deferred = answer.text ?? ""
      expect(deferred).toMatch(
        /^Deferred until \d{4}-\d\d-\d\d \d\d:\d\d UTC: Bitrix24 allows one message a week to boris, and this week's is used\./
      )
      telegram.control.sendCommand({ user: operator }, "quota", "boris")
      expect(await replyMatching(telegram, operator, /written to/)).toMatch(
        /^boris was already written to this week and can next be written to on|^boris can be written to now\./
      )
      await eventually(() => inbox(2).length === 2, "the deferred message to be delivered")
      expect(inbox(2).map((message) => message.message)).toEqual(["first", "second"])
      await eventually(() => reports(/^Delivered to boris\.$/).length === 2, "the second report")
      expect(repliedTo(reports(/^Delivered/)[1]!)).toBe((second.message as { message_id: number }).message_id)
    }))

  it("merges what waits into a digest when configured so, and says so", () =>
    withRelay(
      async () => {
        telegram.control.sendCommand({ user: operator }, "send", "dmitri one")
        expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for dmitri/)
        expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to dmitri.")
        telegram.control.sendCommand({ user: operator }, "send", "dmitri two")
        expect(await replyMatching(telegram, operator, /digest/)).toMatch(
          /will be merged into one digest that goes out on/
        )
        await eventually(() => inbox(4).length === 2, "the digest to be delivered")
        expect(inbox(4)[1]?.message).toContain("two")
        await eventually(() => reports(/^Delivered to dmitri/).length === 2, "the digest's report")
      },
      { policy: "digest" }
    ))

  it("reports on a broadcast in one message, a line for each member, replying to the broadcast", () =>
    withRelay(
      async () => {
        const broadcast = telegram.control.sendCommand({ user: operator }, "broadcast", "sales hello all")
        await eventually(() => inbox(2).length === 1 && inbox(4).length === 1, "the broadcast to be delivered")
        // Both were delivered before the watcher's next look: their reports go together.
        const report = await reportMatching(/^2 reports:/)
        expect(report.text).toBe("2 reports:\n• Delivered to boris.\n• Delivered to dmitri.")
        expect(repliedTo(report)).toBe((broadcast.message as { message_id: number }).message_id)
        expect(reports(/Delivered to (boris|dmitri)/)).toHaveLength(1)
      },
      { followUpPollMs: 2_000 }
    ))

  it("handles one chat's updates in order", () =>
    withRelay(async (relay) => {
      const names = ["boris", "carla", "dmitri", "5", "6"]
      for (const name of names) telegram.control.sendCommand({ user: operator }, "send", `${name} in order`)
      await eventually(() => answers().length === names.length, "five answers")
      expect(answers().map((text) => /^Queued for ([^:]+):/.exec(text)?.[1])).toEqual([
        "boris",
        "carla",
        "dmitri",
        "user 5",
        "user 6"
      ])
      const entries = await relay.run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.list()))
      const byCreation = [...entries].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      expect(byCreation.map((entry) => entry.message.userId)).toEqual([2, 3, 4, 5, 6])
    }))

  it("answers several chats writing at once (relayed together) each with its own outcome and report", () =>
    withRelay(
      async () => {
        // One update from each chat, injected together: the relay takes them in one batch.
        const writers = [
          { chat: operator, name: "boris", userId: 2 },
          { chat: 201, name: "carla", userId: 3 },
          { chat: 202, name: "dmitri", userId: 4 },
          { chat: 203, name: "user 5", userId: 5 }
        ]
        for (const writer of writers) {
          telegram.control.sendCommand({ user: writer.chat }, "send", `${writer.userId} from chat ${writer.chat}`)
        }
        for (const writer of writers) {
          expect(await replyMatching(telegram, writer.chat, /Queued|Not sent/)).toBe(
            `Queued for ${writer.name}: saved and on its way. I will tell you when it is delivered.`
          )
        }
        for (const writer of writers) {
          expect(await replyMatching(telegram, writer.chat, /^(Delivered|Not delivered)/)).toBe(
            `Delivered to ${writer.name}.`
          )
          expect(inbox(writer.userId).map((message) => message.message)).toEqual([`from chat ${writer.chat}`])
        }
      },
      { operators: [operator, 201, 202, 203] }
    ))

  it("forgets the report on an entry an operator purged, and sends none", async () => {
    // A long week on both sides: the deferred entry stays deferred while the test looks.
    portal.control.configure("demo", { weeklyWindowSeconds: 600 })
    const relay = await startTestRelay({ telegram, portal, windowSeconds: 600 })
    try {
      telegram.control.sendCommand({ user: operator }, "send", "boris first")
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to boris.")
      telegram.control.sendCommand({ user: operator }, "send", "boris second")
      expect(await replyMatching(telegram, operator, /Deferred|Not sent/)).toMatch(/^Deferred until/)
      expect(await owedReports(relay)).toBe(1)
      // The answer comes from the ledger at once; the entry itself is deferred when its workflow runs.
      await eventually(
        async () =>
          (await relay.run(
            Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({ state: "deferred", userId: 2 }))
          )) === 1,
        "the second message's entry to be deferred"
      )
      const purged = await relay.run(
        Effect.flatMap(Outbox.Outbox, (outbox) => outbox.purge({ state: "deferred", userId: 2 }))
      )
      expect(purged).toBe(1)
      await eventually(async () => (await owedReports(relay)) === 0, "the purged entry's report to be forgotten")
      expect(reports(/boris/).map((sent) => sent.text)).toEqual(["Delivered to boris."])
    } finally {
      await relay.stop()
    }
  })

  it("sends a photo captioned /send <user> <text> to that user, its caption's formatting kept", () =>
    withRelay(async () => {
      const caption = "/send boris look here"
      telegram.control.sendPhoto({ user: operator }, new Uint8Array([0xff, 0xd8, 1]), {
        caption,
        captionEntities: [
          { type: "bot_command", offset: 0, length: 5 },
          { type: "bold", offset: caption.indexOf("look"), length: 4 }
        ],
        width: 640,
        height: 480
      })
      expect(await replyMatching(telegram, operator, /Queued|Not sent|Usage/)).toMatch(/^Queued for boris/)
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to boris.")
      const [message] = inbox(2)
      expect(message?.message).toBe("[b]look[/b] here")
      expect(JSON.stringify(message?.attach)).toMatch(
        /"IMAGE":\[\{"NAME":"photo-[^"]+\.jpg","LINK":"[^"]+\/media\/[^"]+","WIDTH":640,"HEIGHT":480\}\]/
      )
      expect(inbox(3)).toHaveLength(0)
    }))

  it("sends an album as one message with an IMAGE block per photo, to the route or to the /send in its caption", () =>
    withRelay(async (relay) => {
      const photos = [1, 2, 3].map((n) => ({ bytes: new Uint8Array([0xff, 0xd8, n]), width: 100 * n, height: 100 }))
      const parts = telegram.control.sendAlbum({ user: operator }, photos, { caption: "Our trip" })
      const answer = await telegram.control.waitForSent(
        (sent) => sent.chatId === operator && /Queued|Not sent/.test(sent.text ?? ""),
        15_000
      )
      expect(answer.text).toMatch(/^Queued for carla/)
      expect(repliedTo(answer)).toBe((parts[0]!.message as { message_id: number }).message_id)
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to carla.")
      const [message] = inbox(3)
      expect(message?.message).toBe("Our trip")
      const images = JSON.stringify(message?.attach).match(/"IMAGE":\[\{[^}]*"LINK":"[^"]+"/g) ?? []
      expect(images).toHaveLength(3)
      for (const image of images) expect(image).toContain(`${relay.url}/media/`)
      expect(JSON.stringify(message?.attach).match(/"WIDTH":\d+/g)).toEqual([
        '"WIDTH":100',
        '"WIDTH":200',
        '"WIDTH":300'
      ])

      const caption = "/send boris two pics"
      telegram.control.sendAlbum({ user: operator }, photos.slice(0, 2), {
        caption,
        captionEntities: [{ type: "bot_command", offset: 0, length: 5 }]
      })
      expect((await reportMatching(/^Delivered to boris/)).text).toBe("Delivered to boris.")
      expect(inbox(2).map((sent) => sent.message)).toEqual(["two pics"])
      expect(JSON.stringify(inbox(2)[0]?.attach).match(/"IMAGE"/g)).toHaveLength(2)
      expect(answers().filter((text) => text.startsWith("Queued"))).toHaveLength(2)
      expect(inbox(3)).toHaveLength(1)
    }))

  it("reports a message that could not be delivered, with the reason in plain words", () =>
    withRelay(
      async () => {
        telegram.control.sendCommand({ user: operator }, "send", "boris hello")
        expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for boris/)
        const report = await reportMatching(/Delivered|Not delivered/)
        expect(report.text).toMatch(/^Not delivered to boris: [a-z].*\.$/)
        expect(report.text).not.toMatch(/[A-Z_]{6,}/)
        expect(inbox(2)).toHaveLength(0)
      },
      {
        routing: {
          lineCode: "f".repeat(32),
          recipients: { boris: 2 },
          groups: {},
          routes: {},
          mentions: {}
        }
      }
    ))

  it("sends each report once, across restarts", async () => {
    const database = freshSqliteFile()
    portal.control.configure("demo", { faults: { hangRate: 1, hangMs: 5_000 } })
    const first = await startTestRelay({ telegram, portal, database })
    telegram.control.sendCommand({ user: operator }, "send", "boris across restarts")
    expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for boris/)
    await first.stop()
    portal.control.configure("demo", { faults: { hangRate: 0 } })
    const second = await startTestRelay({ telegram, portal, database })
    try {
      expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to boris.")
      await eventually(async () => (await owedReports(second)) === 0, "the report to be marked as sent")
    } finally {
      await second.stop()
    }
    const third = await startTestRelay({ telegram, portal, database })
    try {
      // A later report comes from a later sweep of the same table: had the first been owed still, it
      // would have been sent by then.
      telegram.control.sendCommand({ user: operator }, "send", "carla after the restarts")
      await reportMatching(/^Delivered to carla/)
      expect(reports(/^Delivered to boris/)).toHaveLength(1)
      expect(inbox(2).map((message) => message.message)).toEqual(["across restarts"])
    } finally {
      await third.stop()
    }
  })

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
        expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for boris/)
        expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to boris.")
        telegram.control.redeliver(update.update_id)
        // The entry is settled: the answer says how it ended, and no report is owed any more.
        expect(await replyMatching(telegram, operator, /^Sent/)).toBe("Sent to boris.")
        expect(await owedReports(relay)).toBe(0)
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

  it("runs as main.ts deploys it, delivery's runner in a worker thread: answers, delivers once, and reports", () =>
    withRelay(
      async (relay) => {
        const update = telegram.control.sendCommand({ user: operator }, "send", "boris through the journal")
        expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for boris/)
        // Sent again at once: its entry is found (in the journal or the outbox), not made twice.
        telegram.control.redeliver(update.update_id)
        await eventually(() => answers().length === 2, "the answer to the update sent again")
        expect(answers()[1]).toMatch(/^(Queued for boris|Sent to boris)/)
        expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to boris.")
        await eventually(() => inbox(2).length > 0, "the message in the inbox")
        telegram.control.sendCommand({ user: operator }, "status")
        expect(await replyMatching(telegram, operator, /^Waiting to be sent/)).toMatch(/Sent: 1\./)
        expect(inbox(2).map((message) => message.message)).toEqual(["through the journal"])
        expect(await owedReports(relay)).toBe(0)
      },
      { mode: "webhook", webhook: { secretToken: Redacted.make("webhook_secret_for_tests") } },
      true
    ))

  it("retries Telegram's own 429s and still answers", () =>
    withRelay(async () => {
      telegram.control.tooManyRequests({ retryAfter: 1, count: 1, methods: ["sendMessage"] })
      telegram.control.sendCommand({ user: operator }, "send", "carla hello")
      expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for carla/)
      expect(telegram.control.counters.tooManyRequests).toBe(1)
    }))

  it("loses nothing when stopped (SIGTERM) while sending: a restart on the same database delivers", async () => {
    const database = freshSqliteFile()
    // The portal holds every request: the send is under way when the relay stops.
    portal.control.configure("demo", { faults: { hangRate: 1, hangMs: 5_000 } })
    const first = await startTestRelay({ telegram, portal, database })
    telegram.control.sendCommand({ user: operator }, "send", "boris in flight")
    expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for boris/)
    telegram.control.sendCommand({ user: operator }, "send", "carla right at the stop")
    await first.stop()
    portal.control.configure("demo", { faults: { hangRate: 0 } })
    const second = await startTestRelay({ telegram, portal, database })
    try {
      await eventually(() => inbox(2).length >= 1 && inbox(3).length >= 1, "both messages after the restart", 20_000)
      await eventually(() => telegram.control.pendingUpdates().length === 0, "the updates to be confirmed")
      expect(inbox(2).map((message) => message.message)).toEqual(["in flight"])
      expect(inbox(3).map((message) => message.message)).toEqual(["right at the stop"])
      // The reports owed survive the restart (in one message when both are ready at once).
      await reportMatching(/(^|• )Delivered to boris\./m)
      await reportMatching(/(^|• )Delivered to carla\./m)
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
        expect((await reportMatching(/Delivered|Not delivered/)).text).toBe("Delivered to carla.")
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
