/**
 * The relay in a scope, on the services of its context: the bot (long polling through grammY's
 * runner, or a webhook with a secret token), an HTTP server for the webhook and the signed media
 * links, the watcher that reports outcomes, and the album flusher. It needs delivery's `Outbox`,
 * `PortalChannels` and the `SqlClient` delivery runs on, so an application that already runs
 * delivery (`linecast serve`) embeds it with `relayLayer(options)` and never starts a second
 * runner on the same database. Closing the scope stops it gracefully: no new updates are taken,
 * the ones in flight finish (each is in the outbox before its answer), then the rest closes.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { type RunnerHandle, run } from "@grammyjs/runner"
import { PortalAuth } from "@linecast/core"
import { GroupCommit } from "@linecast/delivery"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { type Bot, GrammyError, webhookCallback } from "grammy"
import type { UserFromGetMe } from "grammy/types"
import { makeBot } from "./bot.js"
import { flushAlbum } from "./features/albums.js"
import { describeError } from "./internal/scrub.js"
import * as MediaLinks from "./MediaLinks.js"
import type { Outcome } from "./Outcome.js"
import type { RelayRequest } from "./Relay.js"
import * as Relay from "./Relay.js"
import type { AlbumKey } from "./RelayAlbums.js"
import * as RelayAlbums from "./RelayAlbums.js"
import type { RelayOptions } from "./RelayConfig.js"
import type { RelayContext, RelayRequirements, RelayServices } from "./RelayContext.js"
import * as RelayReports from "./RelayReports.js"

/**
 * The relay could not start: its database tables, its HTTP server, or Telegram (no secret in the
 * message).
 *
 * @since 0.1.0
 * @category errors
 */
export class RelayStartError extends Data.TaggedError("RelayStartError")<{ readonly message: string }> {}

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
  /** Runs an effect on the relay's services. */
  readonly run: RelayServices["run"]
}

const telegramApiRoot = "https://api.telegram.org"
/** Reports read from the database at a time. */
const reportPage = 100
/** All the reports owed are read every this many polls (a minute at the default 5 s); between, only those delivery changed. */
const sweepEvery = 12
/** Messages relayed together at most (the runner hands the handlers at most `concurrency` updates at once). */
const intakeBatch = 100
/** How often the album flusher looks for albums that have been quiet long enough. */
const albumTickMs = 100

/**
 * Runs the relay until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runRelay = (
  options: RelayOptions
): Effect.Effect<RunningRelay, RelayStartError, RelayRequirements | Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<RelayRequirements>()
    const runPromise = Runtime.runPromise(runtime)
    const runFork = Runtime.runFork(runtime)
    const secrets = [
      Redacted.value(options.token),
      Redacted.value(options.media.secret),
      ...(options.webhook === undefined ? [] : [Redacted.value(options.webhook.secretToken)])
    ]
    const log: RelayServices["log"] = (level, message) => {
      // Core's scrub: the bot token appears in Telegram's file URLs.
      const line = PortalAuth.scrub(message, secrets)
      runFork(
        level === "error" ? Effect.logError(line) : level === "warning" ? Effect.logWarning(line) : Effect.logInfo(line)
      )
    }
    const startFailure = (what: string) => (error: unknown) =>
      new RelayStartError({ message: PortalAuth.scrub(`${what}: ${describeError(error)}`, secrets) })

    yield* Effect.all([RelayReports.migrate, RelayAlbums.migrate], { discard: true }).pipe(
      Effect.mapError(startFailure("the relay's tables could not be created"))
    )

    const inFlight = new Set<Promise<void>>()
    const track = (work: Promise<void>) => {
      const settled = work.then(
        () => undefined,
        () => undefined
      )
      inFlight.add(settled)
      void settled.finally(() => inFlight.delete(settled))
    }

    // Albums seen and when their last part came; flushed once quiet for `albumQuietMs`.
    const albums = new Map<string, { readonly key: AlbumKey; lastPartAt: number }>()
    const touchAlbum = (key: AlbumKey, at: number) => {
      const id = `${key.chatId}:${key.mediaGroupId}`
      const known = albums.get(id)
      if (known === undefined) albums.set(id, { key, lastPartAt: at })
      else known.lastPartAt = at
    }

    // The updates handled at the same time are relayed together: their entries, then their reports
    // in one statement, and each answered once its own are stored.
    const runCallback = Runtime.runCallback(runtime)
    const intake = GroupCommit.make<RelayRequest, ReadonlyArray<Outcome>, never, RelayRequirements>({
      write: Relay.relayAll,
      run: (effect, onExit) => {
        runCallback(effect, { onExit })
      },
      maxBatch: intakeBatch,
      gatherMs: 2
    })

    let publicUrl = options.media.publicUrl
    const services: Omit<RelayServices, "botId"> = {
      options,
      run: runPromise,
      relay: (request) =>
        new Promise((resolve, reject) =>
          intake.submit(request, (exit) => {
            if (Exit.isSuccess(exit)) resolve(exit.value)
            else reject(Cause.squash(exit.cause))
          })
        ),
      mediaLink: (target) =>
        MediaLinks.make(publicUrl!, options.media.secret, {
          ...target,
          expiresAt: Date.now() + options.media.ttlSeconds * 1000
        }),
      albumPart: async (message, updateId) => {
        await runPromise(RelayAlbums.keep({ updateId, message }))
        touchAlbum({ chatId: message.chat.id, mediaGroupId: message.media_group_id ?? "" }, Date.now())
      },
      log
    }

    const bot = makeBot(services, { botInfo: options.botInfo as UserFromGetMe | undefined, track })
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
        const file = await bot.api.getFile(target.fileId)
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
          // A body that is not JSON was never an update: 400, which Telegram would not send again. Anything
          // else failed on our side: 500, so that Telegram sends the update again later.
          const notJson = error instanceof SyntaxError
          log(notJson ? "warning" : "error", `webhook update failed: ${describeError(error)}`)
          if (!response.headersSent) response.writeHead(notJson ? 400 : 500)
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
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          new Promise<void>((resolve, reject) => {
            server.once("error", reject)
            server.listen(options.listen.port, options.listen.host, () => resolve())
          }),
        catch: startFailure("the relay's HTTP server could not listen")
      }),
      () =>
        Effect.promise(() => {
          server.closeAllConnections()
          return new Promise<void>((resolve) => server.close(() => resolve()))
        })
    )
    const address = server.address() as AddressInfo
    const host = address.address.includes(":") ? `[${address.address}]` : address.address
    const url = `http://${host}:${address.port}`
    publicUrl ??= url
    const webhookUrl = options.webhook?.url ?? `${url}${webhookPath}`
    webhookPath = new URL(webhookUrl).pathname

    if (options.botInfo === undefined) {
      yield* Effect.tryPromise({ try: () => bot.init(), catch: startFailure("Telegram did not answer getMe") })
    }
    const withId: RelayServices = { ...services, botId: bot.botInfo.id }

    const reply = (chatId: number, messageId: number, text: string) =>
      bot.api.sendMessage(chatId, text, {
        reply_parameters: { message_id: messageId, allow_sending_without_reply: true }
      })

    // Reports on entries still on their way; each is claimed before it is sent (see RelayReports).
    yield* Effect.forkScoped(
      RelayReports.watch({
        pollMs: options.followUpPollMs,
        pageSize: reportPage,
        sweepEvery,
        log,
        send: (report, text) =>
          Effect.tryPromise({
            try: () => reply(report.chatId, report.messageId, text),
            catch: (error) => ({
              // 400 and 403 will not change by asking again (the chat is gone, the bot was blocked).
              permanent: error instanceof GrammyError && (error.error_code === 400 || error.error_code === 403),
              message: describeError(error)
            })
          }).pipe(Effect.asVoid)
      })
    )

    // Albums left unsent by the last stop, then every album once it has been quiet long enough.
    const unfinished = yield* RelayAlbums.open.pipe(Effect.orElseSucceed(() => []))
    for (const key of unfinished) touchAlbum(key, 0)
    const flushQuiet = Effect.gen(function* () {
      const now = Date.now()
      for (const [id, album] of albums) {
        if (now - album.lastPartAt < options.albumQuietMs) continue
        albums.delete(id)
        yield* Effect.promise(() =>
          flushAlbum(withId, reply, album.key).catch((error: unknown) => {
            log("warning", `album ${album.key.mediaGroupId} not sent yet: ${describeError(error)}`)
            touchAlbum(album.key, Date.now())
          })
        )
      }
    }).pipe(Effect.uninterruptible)
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(flushQuiet, Effect.sleep(albumTickMs))))

    let runner: RunnerHandle | undefined
    if (options.mode === "webhook" && options.webhook !== undefined) {
      const secretToken = Redacted.value(options.webhook.secretToken)
      yield* Effect.tryPromise({
        try: () =>
          bot.api.setWebhook(webhookUrl, { secret_token: secretToken, allowed_updates: ["message", "callback_query"] }),
        catch: startFailure("Telegram did not take the webhook")
      })
    } else {
      // A webhook left behind would make every poll a 409; pending updates are kept.
      yield* Effect.tryPromise({
        try: () => bot.api.deleteWebhook({ drop_pending_updates: false }),
        catch: startFailure("Telegram did not answer deleteWebhook")
      })
      runner = run(bot, {
        runner: { fetch: { allowed_updates: ["message", "callback_query"] }, silent: true },
        sink: { concurrency: options.concurrency }
      })
    }
    // Added last, run first: no new updates, then the ones in flight finish (the webhook stays set:
    // Telegram keeps what arrives meanwhile for the next start).
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        if (runner?.isRunning()) await runner.stop()
        while (inFlight.size > 0) await Promise.all([...inFlight])
      })
    )

    return {
      url,
      ...(options.mode === "webhook" ? { webhookUrl } : {}),
      bot,
      run: runPromise
    }
  })

/**
 * The relay as a layer: it runs while the layer is alive (an embedder's runtime), on the outbox,
 * channels and database of its context.
 *
 * @since 0.1.0
 * @category layers
 */
export const relayLayer = (options: RelayOptions): Layer.Layer<never, RelayStartError, RelayRequirements> =>
  Layer.scopedDiscard(runRelay(options))
