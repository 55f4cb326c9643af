/**
 * The relay running: the bot (long polling through grammY's runner, or a webhook with a secret
 * token), an HTTP server for the webhook and the signed media links, and one `ManagedRuntime` for
 * every effect. `stop()` (what SIGTERM calls) stops taking updates, lets the ones in flight finish,
 * then closes: what was accepted is in the outbox, and what was not is delivered again by Telegram.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { type RunnerHandle, run } from "@grammyjs/runner"
import { PortalAuth } from "@linecast/core"
import type { Outbox, PortalChannels } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { type Bot, webhookCallback } from "grammy"
import type { UserFromGetMe } from "grammy/types"
import { makeBot } from "./bot.js"
import { describeError } from "./internal/scrub.js"
import * as MediaLinks from "./MediaLinks.js"
import type { Outcome } from "./Outcome.js"
import { followUpWords } from "./Outcome.js"
import { check } from "./Relay.js"
import type { RelayOptions } from "./RelayConfig.js"
import type { RelayContext, RelayServices } from "./RelayContext.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RunningRelay {
  /** Where the relay's HTTP server listens (media links, and the webhook in webhook mode). */
  readonly url: string
  /** In webhook mode: where Telegram posts updates. */
  readonly webhookUrl?: string
  readonly bot: Bot<RelayContext>
  /** Runs an effect on the relay's runtime. */
  readonly run: RelayServices["run"]
  /** Stops taking updates, finishes those in flight, closes the server and the runtime. */
  readonly stop: () => Promise<void>
}

const telegramApiRoot = "https://api.telegram.org"

/**
 * Starts the relay on the layer that provides delivery's outbox and the portals' channels.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startRelay = async <E>(
  options: RelayOptions,
  layer: Layer.Layer<Outbox.Outbox | PortalChannels.PortalChannels, E, never>
): Promise<RunningRelay> => {
  const runtime = ManagedRuntime.make(layer)
  const secrets = [
    Redacted.value(options.token),
    Redacted.value(options.media.secret),
    ...(options.webhook === undefined ? [] : [Redacted.value(options.webhook.secretToken)])
  ]
  const log: RelayServices["log"] = (level, message) => {
    // Core's scrub: the bot token appears in Telegram's file URLs.
    const line = PortalAuth.scrub(message, secrets)
    runtime.runFork(
      level === "error" ? Effect.logError(line) : level === "warning" ? Effect.logWarning(line) : Effect.logInfo(line)
    )
  }
  // Builds the layers now: a database or portal that cannot start fails here, not on the first update.
  await runtime.runtime()

  const inFlight = new Set<Promise<void>>()
  const track = (work: Promise<void>) => {
    const settled = work.then(
      () => undefined,
      () => undefined
    )
    inFlight.add(settled)
    void settled.finally(() => inFlight.delete(settled))
  }

  let publicUrl = options.media.publicUrl
  const followUps = new Set<Fiber.RuntimeFiber<void, unknown>>()
  let bot: Bot<RelayContext> | undefined

  const services: Omit<RelayServices, "botId"> = {
    options,
    run: (effect) => runtime.runPromise(effect),
    mediaLink: (target) =>
      MediaLinks.make(publicUrl!, options.media.secret, {
        ...target,
        expiresAt: Date.now() + options.media.ttlSeconds * 1000
      }),
    followUp: (chatId: number, outcome: Outcome) => {
      if (!("entryId" in outcome)) return
      const watch = Effect.gen(function* () {
        while (true) {
          yield* Effect.sleep(options.followUpPollMs)
          const settled = yield* check(outcome.to, outcome.entryId)
          const text = settled === undefined ? undefined : followUpWords(settled)
          if (text === undefined) continue
          yield* Effect.promise(() =>
            bot!.api.sendMessage(chatId, text).then(
              () => undefined,
              (error: unknown) => log("warning", `could not tell chat ${chatId}: ${describeError(error)}`)
            )
          )
          return
        }
      })
      const fiber = runtime.runFork(watch)
      followUps.add(fiber)
      fiber.addObserver(() => followUps.delete(fiber))
    },
    log
  }

  bot = makeBot(services, { botInfo: options.botInfo as UserFromGetMe | undefined, track })
  const apiRoot = options.apiRoot ?? telegramApiRoot

  const serveMedia = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    const verified = MediaLinks.verify(options.media.secret, path, Date.now())
    if (verified._tag !== "Valid") {
      response.writeHead(verified._tag === "Expired" ? 410 : 403, { "content-type": "text/plain" })
      response.end(verified._tag === "Expired" ? "This link has expired." : "Not a valid link.")
      return
    }
    const target = verified.target
    try {
      const file = await bot!.api.getFile(target.fileId)
      if (file.file_path === undefined) throw new Error("Telegram gave no file path")
      // The only place a Telegram file URL exists: it holds the bot token and never leaves this function.
      const upstream = await fetch(`${apiRoot}/file/bot${Redacted.value(options.token)}/${file.file_path}`)
      if (!upstream.ok) throw new Error(`Telegram answered ${upstream.status} for a file`)
      const bytes = new Uint8Array(await upstream.arrayBuffer())
      response.writeHead(200, {
        "content-type": target.mimeType ?? upstream.headers.get("content-type") ?? "application/octet-stream",
        "content-length": String(bytes.byteLength),
        "content-disposition": `inline; filename*=UTF-8''${encodeURIComponent(target.name)}`,
        "cache-control": "private, max-age=3600"
      })
      response.end(request.method === "HEAD" ? undefined : bytes)
    } catch (error) {
      log("warning", `media link failed: ${describeError(error)}`)
      response.writeHead(502, { "content-type": "text/plain" })
      response.end("The file could not be fetched from Telegram.")
    }
  }

  let webhookPath = "/telegram/webhook"
  const onWebhook =
    options.mode === "webhook" && options.webhook !== undefined
      ? webhookCallback(bot, "http", {
          secretToken: Redacted.value(options.webhook.secretToken),
          timeoutMilliseconds: 60_000
        })
      : undefined

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://relay").pathname
    if ((request.method === "GET" || request.method === "HEAD") && path.startsWith("/media/")) {
      void serveMedia(request, response, path)
      return
    }
    if (request.method === "POST" && onWebhook !== undefined && path === webhookPath) {
      onWebhook(request, response).catch((error: unknown) => {
        log("error", `webhook update failed: ${describeError(error)}`)
        if (!response.headersSent) response.writeHead(500)
        response.end()
      })
      return
    }
    if (request.method === "GET" && path === "/healthz") {
      response.writeHead(200, { "content-type": "application/json" })
      response.end('{"ok":true}')
      return
    }
    response.writeHead(404, { "content-type": "text/plain" })
    response.end("Not found")
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.listen.port, options.listen.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.address.includes(":") ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  publicUrl ??= url
  const webhookUrl = options.webhook?.url ?? `${url}${webhookPath}`
  webhookPath = new URL(webhookUrl).pathname

  if (options.botInfo === undefined) await bot.init()
  let runner: RunnerHandle | undefined
  if (options.mode === "webhook" && options.webhook !== undefined) {
    await bot.api.setWebhook(webhookUrl, {
      secret_token: Redacted.value(options.webhook.secretToken),
      allowed_updates: ["message", "callback_query"]
    })
  } else {
    // A webhook left behind would make every poll a 409; pending updates are kept.
    await bot.api.deleteWebhook({ drop_pending_updates: false })
    runner = run(bot, {
      runner: { fetch: { allowed_updates: ["message", "callback_query"] }, silent: true },
      sink: { concurrency: 100 }
    })
  }

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      if (runner?.isRunning()) await runner.stop()
      // The webhook stays set: Telegram keeps what arrives meanwhile for the next start.
      while (inFlight.size > 0) await Promise.all([...inFlight])
      await runtime.runPromise(Effect.forEach([...followUps], Fiber.interrupt, { discard: true }))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.dispose()
    })()
    return stopping
  }

  return {
    url,
    ...(options.mode === "webhook" ? { webhookUrl } : {}),
    bot,
    run: services.run,
    stop
  }
}
