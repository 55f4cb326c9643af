import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Bot, GrammyError } from "grammy"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningTelegramEmulator } from "../src/index.js"
import { startTelegramEmulator } from "../src/index.js"

let telegram: RunningTelegramEmulator
beforeAll(async () => {
  telegram = await startTelegramEmulator({ username: "relay_test_bot" })
})
afterAll(() => telegram.close())

const botFor = (token = telegram.token) =>
  new Bot(token, { botInfo: telegram.botInfo, client: { apiRoot: telegram.apiRoot } })

const eventually = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("the Telegram Bot API emulator", () => {
  it("answers getMe, and 401 in Telegram's format for a wrong token", async () => {
    const me = await botFor().api.getMe()
    expect(me).toMatchObject({ id: telegram.botInfo.id, is_bot: true, username: "relay_test_bot" })
    const error = await botFor("123:wrong")
      .api.getMe()
      .catch((cause: unknown) => cause)
    expect(error).toBeInstanceOf(GrammyError)
    expect(error).toMatchObject({ error_code: 401, description: "Unauthorized" })
  })

  it("serves getUpdates with offsets and long polls to a real grammY bot, which replies", async () => {
    telegram.control.reset()
    const bot = botFor()
    const seen: Array<string> = []
    bot.command("echo", (ctx) => ctx.reply(`echo: ${ctx.match}`))
    bot.on("message:text", (ctx) => {
      seen.push(ctx.message.text)
      return ctx.reply(`got ${ctx.message.entities?.map((entity) => entity.type).join(",") ?? "none"}`)
    })
    const started = bot.start({ timeout: 1, drop_pending_updates: false })
    telegram.control.sendText({ user: 501 }, "hello bold", [{ type: "bold", offset: 6, length: 4 }])
    telegram.control.sendCommand({ user: 501 }, "echo", "one two")
    await telegram.control.waitForSent((sent) => sent.text === "echo: one two")
    await telegram.control.waitForSent((sent) => sent.text === "got bold")
    await bot.stop()
    await started
    expect(seen).toEqual(["hello bold"])
    // The stop confirmed both updates: nothing is pending any more.
    expect(telegram.control.pendingUpdates()).toHaveLength(0)
    expect(telegram.control.sent(501).map((sent) => sent.text)).toEqual(["got bold", "echo: one two"])
  })

  it("keeps photos and documents, answers getFile and serves the bytes", async () => {
    telegram.control.reset()
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])
    const update = telegram.control.sendPhoto({ user: 502 }, bytes, { caption: "look" }) as any
    const sizes = update.message.photo
    expect(sizes).toHaveLength(2)
    const api = botFor().api
    const file = await api.getFile(sizes[1].file_id)
    expect(file.file_path).toMatch(/^photos\/file_\d+\.jpg$/)
    const response = await fetch(`${telegram.apiRoot}/file/bot${telegram.token}/${file.file_path}`)
    expect(response.headers.get("content-type")).toBe("image/jpeg")
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes)
    const wrongToken = await fetch(`${telegram.apiRoot}/file/bot1:nope/${file.file_path}`)
    expect(wrongToken.status).toBe(404)
    const document = telegram.control.sendDocument({ user: 502 }, new TextEncoder().encode("a,b\n1,2\n"), {
      fileName: "report.csv",
      mimeType: "text/csv"
    }) as any
    expect(document.message.document).toMatchObject({ file_name: "report.csv", mime_type: "text/csv", file_size: 8 })
    const badFile = await api.getFile("nope").catch((cause: unknown) => cause)
    expect(badFile).toMatchObject({ error_code: 400, description: "Bad Request: invalid file_id" })
  })

  it("sends an album as one update per photo, in order, sharing a media_group_id, the caption on the first", async () => {
    telegram.control.reset()
    const photos = [new Uint8Array([1, 1]), new Uint8Array([2, 2, 2]), new Uint8Array([3])]
    const updates = telegram.control.sendAlbum(
      { user: 503 },
      photos.map((bytes, index) => ({ bytes, width: 100 * (index + 1), height: 50 })),
      { caption: "trip", captionEntities: [{ type: "bold", offset: 0, length: 4 }] }
    ) as ReadonlyArray<any>
    expect(updates).toHaveLength(3)
    const groups = new Set(updates.map((update) => update.message.media_group_id))
    expect(groups.size).toBe(1)
    expect([...groups][0]).toMatch(/^\d+$/)
    expect(updates.map((update) => update.message.caption)).toEqual(["trip", undefined, undefined])
    expect(updates[0].message.caption_entities).toEqual([{ type: "bold", offset: 0, length: 4 }])
    expect(updates.map((update) => update.update_id)).toEqual(
      [...updates.map((update) => update.update_id)].sort((a, b) => a - b)
    )
    expect(updates.map((update) => update.message.photo[1].width)).toEqual([100, 200, 300])
    const api = botFor().api
    for (const [index, update] of updates.entries()) {
      const file = await api.getFile(update.message.photo[1].file_id)
      const response = await fetch(`${telegram.apiRoot}/file/bot${telegram.token}/${file.file_path}`)
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(photos[index])
    }
    expect(telegram.control.pendingUpdates().map((update) => update.update_id)).toEqual(
      updates.map((update) => update.update_id)
    )
  })

  it("answers 400s for bad parameters and 404 for an unknown method", async () => {
    telegram.control.reset()
    const api = botFor().api
    expect(await api.sendMessage(42, "hi").catch((cause: unknown) => cause)).toMatchObject({
      error_code: 400,
      description: "Bad Request: chat not found"
    })
    telegram.control.sendText({ user: 42 }, "hi")
    expect(await api.sendMessage(42, "  ").catch((cause: unknown) => cause)).toMatchObject({
      error_code: 400,
      description: "Bad Request: message text is empty"
    })
    const unknown = await fetch(`${telegram.apiRoot}/bot${telegram.token}/sendUnicorn`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ ok: false, error_code: 404, description: "Not Found" })
    // A form body works as a JSON one does; JSON-serialised fields are read.
    const form = await fetch(`${telegram.apiRoot}/bot${telegram.token}/sendMessage`, {
      method: "POST",
      body: new URLSearchParams({ chat_id: "42", text: "form", entities: '[{"type":"bold","offset":0,"length":4}]' })
    }).then((response) => response.json() as Promise<any>)
    expect(form).toMatchObject({ ok: true, result: { text: "form", entities: [{ type: "bold" }] } })
  })

  it("forgets the chats it has seen at a reset, unless told to keep them", async () => {
    telegram.control.reset()
    const api = botFor().api
    telegram.control.sendText({ user: 44 }, "hi")
    await api.sendMessage(44, "first")
    telegram.control.reset({ keepChats: true })
    expect(telegram.control.sent()).toEqual([])
    expect(telegram.control.pendingUpdates()).toEqual([])
    await api.sendMessage(44, "after a reset that kept the chat")
    expect(telegram.control.sent().map((sent) => sent.text)).toEqual(["after a reset that kept the chat"])
    telegram.control.reset()
    expect(await api.sendMessage(44, "gone").catch((cause: unknown) => cause)).toMatchObject({
      error_code: 400,
      description: "Bad Request: chat not found"
    })
  })

  it("answers 429 with retry_after when switched on", async () => {
    telegram.control.reset()
    telegram.control.sendText({ user: 43 }, "hi")
    telegram.control.tooManyRequests({ retryAfter: 3, count: 1, methods: ["sendMessage"] })
    const api = botFor().api
    const limited = await api.sendMessage(43, "one").catch((cause: unknown) => cause)
    expect(limited).toMatchObject({
      error_code: 429,
      description: "Too Many Requests: retry after 3",
      parameters: { retry_after: 3 }
    })
    expect((await api.sendMessage(43, "two")).text).toBe("two")
  })

  it("delivers updates to a webhook with the secret token, again until it answers 2xx", async () => {
    telegram.control.reset()
    const received: Array<{ secret: string | undefined; body: any }> = []
    let refuseFirst = true
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => {
        body += chunk
      })
      request.on("end", () => {
        received.push({ secret: request.headers["x-telegram-bot-api-secret-token"] as string, body: JSON.parse(body) })
        response.statusCode = refuseFirst ? 500 : 200
        refuseFirst = false
        response.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
    const api = botFor().api
    await api.setWebhook(url, { secret_token: "s3cret_token" })
    expect(await api.getWebhookInfo()).toMatchObject({ url, pending_update_count: 0 })
    const conflict = await api.getUpdates().catch((cause: unknown) => cause)
    expect(conflict).toMatchObject({ error_code: 409 })
    const update = telegram.control.sendText({ user: 44 }, "to the hook")
    await eventually(() => received.length >= 2, "the webhook to be called twice")
    expect(received.map((call) => call.secret)).toEqual(["s3cret_token", "s3cret_token"])
    expect(received.map((call) => call.body.update_id)).toEqual([update.update_id, update.update_id])
    expect((await api.getWebhookInfo()).last_error_message).toMatch(/500/)
    await api.deleteWebhook()
    expect((await api.getWebhookInfo()).url).toBe("")
    await new Promise((resolve) => server.close(resolve))
  })

  it("answers callback queries, and its HTTP control API injects updates and lists what was sent", async () => {
    telegram.control.reset()
    const control = `${telegram.apiRoot}/_emulator`
    const post = (path: string, body: unknown) =>
      fetch(`${control}${path}`, { method: "POST", body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>)
    const bot = botFor()
    bot.on("callback_query:data", (ctx) => ctx.answerCallbackQuery({ text: `pressed ${ctx.callbackQuery.data}` }))
    bot.on("message:photo", (ctx) => ctx.reply(`photo of ${ctx.message.photo.length} sizes: ${ctx.message.caption}`))
    const started = bot.start({ timeout: 1 })
    await post("/updates", { kind: "photo", user: 45, base64: Buffer.from("img").toString("base64"), caption: "cap" })
    await post("/updates", { kind: "callback", user: 45, data: "refresh" })
    await telegram.control.waitForSent((sent) => sent.method === "answerCallbackQuery")
    await telegram.control.waitForSent((sent) => sent.text === "photo of 2 sizes: cap")
    await bot.stop()
    await started
    const sent = await fetch(`${control}/sent?chatId=45`).then((r) => r.json() as Promise<any>)
    expect(sent.map((item: any) => item.text)).toEqual(["photo of 2 sizes: cap"])
    expect(telegram.control.sent().find((item) => item.method === "answerCallbackQuery")?.text).toBe("pressed refresh")
    expect(await fetch(`${control}/health`).then((r) => r.json())).toEqual({ ok: true })
  })
})
