/**
 * The operator console beside `linecast serve`: on its own listener (127.0.0.1 by default), so
 * that exposing the CRM listener to Bitrix24 never exposes the console with it. Always on in demo
 * mode; elsewhere only when asked for (`--console`, `LINECAST_CONSOLE=1`) and with a credential
 * (`LINECAST_CONSOLE_TOKEN`).
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Console, type DemoInbox, type PortalStatus } from "@linecast/console"
import type { Outbox } from "@linecast/delivery"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as CliConfig from "./CliConfig.js"
import { CliError, fromError } from "./CliError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ConsoleMountOptions {
  readonly cliConfig: CliConfig.CliConfig
  /** `serve --console`. */
  readonly requested: boolean
  readonly mode: "demo" | "portal"
  /** The running service, for its outbox. */
  readonly services: Context.Context<Outbox.Outbox>
  readonly lineCodes: ReadonlyArray<string>
  readonly portals: Effect.Effect<ReadonlyArray<PortalStatus.PortalStatus>>
  readonly demo: Option.Option<{
    readonly inbox: Effect.Effect<ReadonlyArray<DemoInbox.DemoInboxMessage>>
    readonly users: ReadonlyArray<DemoInbox.DemoUser>
  }>
  /** Every secret the process holds: the console never sends one, whatever a message contains. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MountedConsole {
  readonly url: string
  readonly protected: boolean
}

/** A webhook URL's code is a secret of its own, wherever it appears without the rest of the URL. */
const withWebhookCodes = (secrets: ReadonlyArray<Redacted.Redacted<string>>) =>
  secrets.flatMap((secret) => {
    const code = /\/rest\/\d+\/([^/]+)\/?$/.exec(Redacted.value(secret))?.[1]
    return code === undefined ? [secret] : [secret, Redacted.make(code)]
  })

/**
 * Starts the console when it is enabled; answers where it listens.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mount = (
  options: ConsoleMountOptions
): Effect.Effect<Option.Option<MountedConsole>, CliError, Scope.Scope> =>
  Effect.gen(function* () {
    const { cliConfig } = options
    if (options.mode !== "demo" && !options.requested && !cliConfig.console) return Option.none()
    const credential = Option.getOrUndefined(cliConfig.consoleToken)
    if (options.mode !== "demo" && credential === undefined) {
      return yield* new CliError({
        kind: "invalid",
        message: "The console needs a credential outside demo mode: set LINECAST_CONSOLE_TOKEN."
      })
    }
    const app = yield* Console.make({
      mode: options.mode,
      credential,
      defaultPortal: "default",
      lineCodes: options.lineCodes,
      portals: options.portals,
      demo: Option.getOrUndefined(options.demo),
      secrets: withWebhookCodes(options.secrets)
    })
    const port = Option.getOrElse(cliConfig.consolePort, () => (cliConfig.port === 0 ? 0 : cliConfig.port + 1))
    const served = HttpServer.serve(app).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: cliConfig.consoleHost })),
      Layer.provide(Layer.succeedContext(options.services))
    )
    const context = yield* Layer.build(served).pipe(Effect.mapError(fromError))
    const address = Context.get(context, HttpServer.HttpServer).address
    const url =
      address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}${Console.basePath}/` : "unix socket"
    return Option.some({ url, protected: credential !== undefined })
  })
