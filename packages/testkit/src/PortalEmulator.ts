/**
 * The portal emulator as an Effect service: a real HTTP server on 127.0.0.1 serving one or more
 * emulated Bitrix24 portals, with the default demo portal ready to use.
 *
 * @since 0.1.0
 */
import { createServer, type Server } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Emulator } from "./Emulator.js"
import { makeHttpApp } from "./internal/httpApp.js"
import { makeSelfSignedCertificate } from "./internal/selfSignedCertificate.js"
import type { PortalOptions } from "./Portal.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface PortalEmulatorOptions {
  /** The port to listen on; 0 (the default) picks a free one. */
  readonly port?: number
  /** The address to listen on; 127.0.0.1 by default. */
  readonly host?: string
  /** Larger request bodies are refused with 413. Default 8 MiB. */
  readonly maxBodyBytes?: number
  /** Portals to create besides the default demo portal. */
  readonly portals?: ReadonlyArray<PortalOptions>
  /**
   * Serve HTTPS with a self-signed certificate made at start (for clients that refuse plain HTTP,
   * such as Bitrix24's JS SDK); its PEM path is `caCert`.
   */
  readonly https?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PortalEmulatorInfo {
  /** Where the emulator listens, e.g. `http://127.0.0.1:43125`. */
  readonly url: string
  /** A ready incoming-webhook base URL of the demo portal, ending in `/`. */
  readonly webhookUrl: string
  /** A joined network open line CODE of the demo portal (32 characters). */
  readonly lineCode: string
  /** Ids of the demo portal's seeded users. */
  readonly users: ReadonlyArray<number>
  /** With `https`: the certificate's PEM file, for `NODE_EXTRA_CA_CERTS`. */
  readonly caCert?: string
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PortalEmulator extends Context.Tag("@linecast/testkit/PortalEmulator")<
  PortalEmulator,
  PortalEmulatorInfo & { readonly control: Emulator }
>() {}

/**
 * Starts an emulator for the life of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: PortalEmulatorOptions = {}
): Effect.Effect<PortalEmulatorInfo & { readonly control: Emulator }, never, Scope.Scope> =>
  Effect.gen(function* () {
    const control = new Emulator({ portals: options.portals ?? [] })
    const certificate = options.https ? yield* makeSelfSignedCertificate : undefined
    // An https.Server emits the same request events; NodeHttpServer only needs those.
    const nodeServer: Server =
      certificate === undefined
        ? createServer()
        : (createHttpsServer({ key: certificate.key, cert: certificate.cert }) as unknown as Server)
    const server = yield* NodeHttpServer.make(() => nodeServer, {
      port: options.port ?? 0,
      host: options.host ?? "127.0.0.1"
    }).pipe(Effect.orDie)
    // Runs before the server's own close: idle keep-alive and hanging connections would hold it open.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const address = server.address as HttpServer.TcpAddress
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
    control.setBaseUrl(`${certificate === undefined ? "http" : "https"}://${host}:${address.port}`)
    const app = yield* makeHttpApp(control, { maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024 })
    yield* server.serve(app)
    const demo = control.info()
    return {
      url: control.url,
      webhookUrl: demo.webhookUrls[0]!,
      lineCode: demo.lineCodes[0]!,
      users: demo.users,
      ...(certificate === undefined ? {} : { caCert: certificate.caCertPath }),
      control
    }
  })

/**
 * The emulator as a layer, for Effect tests: `it.layer(PortalEmulator.layer())`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: PortalEmulatorOptions = {}): Layer.Layer<PortalEmulator> =>
  Layer.scoped(PortalEmulator, make(options))

/**
 * What the emulator command prints, as one JSON line: where it listens, the demo portal's
 * webhook URL, a line CODE, the seeded users, the control URL (and the certificate with HTTPS).
 *
 * @since 0.1.0
 * @category accessors
 */
export const summary = (info: PortalEmulatorInfo) => ({
  url: info.url,
  webhookUrl: info.webhookUrl,
  lineCode: info.lineCode,
  users: info.users,
  controlUrl: `${info.url}/_emulator/`,
  ...(info.caCert === undefined ? {} : { caCert: info.caCert })
})
