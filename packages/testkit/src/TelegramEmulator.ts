/**
 * The Telegram Bot API emulator as an Effect service: a real HTTP server on 127.0.0.1 that a real
 * grammY `Bot` talks to through `client.apiRoot`, with a control API to inject updates and read what
 * the bot sent.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import type * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { makeTelegramHttpApp } from "./internal/telegramHttpApp.js"
import type { TelegramControlOptions } from "./TelegramControl.js"
import { TelegramControl } from "./TelegramControl.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface TelegramEmulatorOptions extends TelegramControlOptions {
  /** The port to listen on; 0 (the default) picks a free one. */
  readonly port?: number
  /** The address to listen on; 127.0.0.1 by default. */
  readonly host?: string
  /** Larger request bodies are refused with 413. Default 50 MiB (Telegram's upload limit). */
  readonly maxBodyBytes?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TelegramEmulatorInfo {
  /** Where the emulator listens: grammY's `client.apiRoot`. */
  readonly apiRoot: string
  /** The bot's token (the only one the emulator accepts). */
  readonly token: string
  /** What `getMe` answers: pass it as grammY's `botInfo` to skip `bot.init()`. */
  readonly botInfo: TelegramControl["botInfo"]
  /** Injects updates, reads what the bot sent, switches 429s on. */
  readonly control: TelegramControl
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TelegramEmulator extends Context.Tag("@linecast/testkit/TelegramEmulator")<
  TelegramEmulator,
  TelegramEmulatorInfo
>() {}

/**
 * Starts a Telegram emulator for the life of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: TelegramEmulatorOptions = {}): Effect.Effect<TelegramEmulatorInfo, never, Scope.Scope> =>
  Effect.gen(function* () {
    const control = new TelegramControl(options)
    const nodeServer = createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, {
      port: options.port ?? 0,
      host: options.host ?? "127.0.0.1"
    }).pipe(Effect.orDie)
    // Runs before the server's own close: long polls and keep-alive connections would hold it open.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        control.close()
        nodeServer.closeAllConnections()
      })
    )
    const address = server.address as HttpServer.TcpAddress
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
    control.setBaseUrl(`http://${host}:${address.port}`)
    yield* server.serve(makeTelegramHttpApp(control, { maxBodyBytes: options.maxBodyBytes ?? 50 * 1024 * 1024 }))
    return { apiRoot: control.apiRoot, token: control.token, botInfo: control.botInfo, control }
  })

/**
 * The emulator as a layer, for Effect tests: `it.layer(TelegramEmulator.layer())`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: TelegramEmulatorOptions = {}): Layer.Layer<TelegramEmulator> =>
  Layer.scoped(TelegramEmulator, make(options))
