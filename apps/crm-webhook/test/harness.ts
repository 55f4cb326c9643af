/** The CRM listener end to end: the portal emulator, delivery over SQLite, the listener on a real port. */
import { mkdtempSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import { Delivery, DeliveryDatabase, PortalChannels } from "@linecast/delivery"
import type { Installation, RunningPortalEmulator } from "@linecast/testkit"
import { Effect, Layer, Logger, ManagedRuntime, Redacted, Ref } from "effect"
import * as CrmListener from "../src/CrmListener.js"
import * as EventInbox from "../src/EventInbox.js"
import * as EventProcessor from "../src/EventProcessor.js"
import type { RuleSet } from "../src/Rules.js"

const clients = Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), TokenStore.layerMemory())

/** Core's channel over the portal's incoming webhook (crm and imopenlines scopes). */
export const webhookChannel = (emulator: RunningPortalEmulator) =>
  Layer.unwrapEffect(
    Effect.map(PortalAuth.webhook(emulator.webhookUrl), (auth) =>
      OpenChannel.layer({ auth, retry: RetryPolicy.never, timeout: 2_000 }).pipe(Layer.provide(clients))
    )
  )

/** Runs `use` with core's channel as the installed application (OAuth): what `event.bind` needs. */
export const withAppChannel = <A, E, R>(
  emulator: RunningPortalEmulator,
  installation: Installation,
  clientSecret: string,
  use: (channel: OpenChannel.OpenChannel.Service) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const auth = yield* PortalAuth.oauth({
      restUrl: installation.clientEndpoint,
      clientId: installation.clientId,
      clientSecret: Redacted.make(clientSecret),
      tokenUrl: emulator.control.oauthTokenUrl,
      initialTokens: {
        accessToken: Redacted.make(installation.accessToken),
        refreshToken: Redacted.make(installation.refreshToken)
      }
    })
    return yield* use(yield* OpenChannel.make({ auth, retry: RetryPolicy.never, timeout: 2_000 }))
  }).pipe(Effect.provide(clients))

export interface ListenerSetup {
  readonly emulator: RunningPortalEmulator
  readonly rules: RuleSet
  readonly applicationToken: string | undefined
  readonly acceptInstall?: boolean
  readonly database?: string
  readonly windowSeconds?: number
  readonly staleAfterSeconds?: number
  /** How the listener is mounted: its node:http `handler` (default) or its Effect `router`. */
  readonly mount?: "handler" | "router"
  /** `test` (the default) polls fast; `production` keeps delivery's and the processor's defaults. */
  readonly timings?: "test" | "production"
  /** Passed to the event processor. */
  readonly processor?: Omit<EventProcessor.ProcessorOptions, "rules">
  /** Replaces Effect's default logger (the benchmark keeps stdout for its result). */
  readonly logger?: Logger.Logger<unknown, void>
}

export const freshSqliteFile = () => join(mkdtempSync(join(tmpdir(), "linecast-crm-")), "linecast.sqlite")

/** Everything running: the listener's URL and a runtime to reach the inbox and the outbox. */
export const startListener = async (setup: ListenerSetup): Promise<RunningListener> => {
  const filename = setup.database ?? freshSqliteFile()
  const window = (setup.windowSeconds ?? 2) * 1000
  // Tests poll fast so that they finish soon; the benchmark keeps delivery's own timings.
  const fast = setup.timings !== "production"
  const delivery = Delivery.layer(
    fast
      ? {
          ledger: { windowMs: window, probeAfterMs: 500 },
          retries: { heldRetryMs: 100, retryDelaysMs: [100, 200, 400] },
          sharding: { entityMessagePollInterval: "100 millis", entityTerminationTimeout: "1 second" }
        }
      : {}
  ).pipe(Layer.provideMerge(PortalChannels.layerSingle("demo").pipe(Layer.provide(webhookChannel(setup.emulator)))))
  const processing = EventProcessor.layer({
    rules: setup.rules,
    ...(fast ? { pollInterval: "200 millis" } : {}),
    ...setup.processor
  }).pipe(
    Layer.provideMerge(EventInbox.layer),
    Layer.provideMerge(delivery),
    Layer.provide(DeliveryDatabase.layer({ kind: "sqlite", filename })),
    Layer.provide(setup.logger === undefined ? Layer.empty : Logger.replace(Logger.defaultLogger, setup.logger))
  )
  const options: CrmListener.ListenerOptions = {
    portals: [
      {
        id: "demo",
        domain: setup.emulator.control.info().domain,
        applicationToken: setup.applicationToken === undefined ? undefined : Redacted.make(setup.applicationToken)
      }
    ],
    acceptInstall: setup.acceptInstall ?? false,
    ...(setup.staleAfterSeconds === undefined ? {} : { staleAfterSeconds: setup.staleAfterSeconds })
  }
  const portRef = Ref.unsafeMake(0)
  const server: Layer.Layer<never, unknown, EventInbox.EventInbox | EventProcessor.EventProcessor> =
    setup.mount === "router"
      ? Layer.mergeAll(
          HttpServer.serve(CrmListener.router(options)),
          Layer.effectDiscard(
            HttpServer.addressWith((address) => Ref.set(portRef, address._tag === "TcpAddress" ? address.port : 0))
          )
        ).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
      : // The node:http handler on a plain server, as `@linecast/node` can mount it.
        Layer.scopedDiscard(
          Effect.flatMap(CrmListener.handler(options), (handle) =>
            Effect.acquireRelease(
              Effect.async<Server>((resume) => {
                const listening = createServer(handle)
                listening.listen(0, "127.0.0.1", () => resume(Effect.succeed(listening)))
              }),
              (listening) =>
                Effect.async<void>((resume) => {
                  listening.close(() => resume(Effect.void))
                  listening.closeAllConnections()
                })
            ).pipe(Effect.tap((listening) => Ref.set(portRef, (listening.address() as AddressInfo).port)))
          )
        )
  const runtime = ManagedRuntime.make(Layer.provideMerge(server, processing))
  const port = await runtime.runPromise(Ref.get(portRef))
  return {
    url: `http://127.0.0.1:${port}`,
    eventsUrl: `http://127.0.0.1:${port}/bitrix/events`,
    events: () => runtime.runPromise(Effect.flatMap(EventInbox.EventInbox, (inbox) => inbox.list())),
    run: (effect) => runtime.runPromise(effect),
    dispose: () => runtime.dispose()
  }
}

export interface RunningListener {
  readonly url: string
  readonly eventsUrl: string
  /** Every event in the listener's inbox. */
  readonly events: () => Promise<ReadonlyArray<EventInbox.InboxEvent>>
  /** Runs an effect beside the listener, with its inbox and processor. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, EventInbox.EventInbox | EventProcessor.EventProcessor>) => Promise<A>
  readonly dispose: () => Promise<void>
}

/** Polls until `check` holds; fails the test after `timeoutMs` (not a timing assertion). */
export const eventually = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
