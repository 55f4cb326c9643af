/** The console over a real delivery: SQLite in a temporary folder, sending to the testkit's portal emulator. */
import { mkdtempSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import { Delivery, DeliveryDatabase, Outbox, type OutboxEntry, PortalChannels } from "@linecast/delivery"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Console from "../src/Console.js"

const channelFor = (emulator: RunningPortalEmulator) =>
  Layer.unwrapEffect(
    Effect.map(PortalAuth.webhook(emulator.webhookUrl), (auth) =>
      OpenChannel.layer({ auth, retry: RetryPolicy.never, timeout: 2_000 }).pipe(
        Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), TokenStore.layerMemory()))
      )
    )
  )

/** The console's app on a free port of 127.0.0.1, over a fresh outbox. */
export interface StartedConsole {
  readonly runtime: ManagedRuntime.ManagedRuntime<Outbox.Outbox | HttpServer.HttpServer, unknown>
  readonly url: Promise<string>
}

export const startConsole = (emulator: RunningPortalEmulator, options: Console.ConsoleOptions): StartedConsole => {
  const delivery = Delivery.layer({
    retries: { heldRetryMs: 100, retryDelaysMs: [100, 200, 400], reconcileAttempts: 3 },
    sharding: { entityMessagePollInterval: "100 millis", entityTerminationTimeout: "1 second" }
  }).pipe(
    Layer.provide(PortalChannels.layerSingle("default").pipe(Layer.provide(channelFor(emulator)))),
    Layer.provide(
      DeliveryDatabase.layer({
        kind: "sqlite",
        filename: join(mkdtempSync(join(tmpdir(), "linecast-console-")), "outbox.sqlite")
      })
    )
  )
  const served = Layer.unwrapScoped(Effect.map(Console.make(options), (app) => HttpServer.serve(app))).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(delivery)
  )
  const runtime: StartedConsole["runtime"] = ManagedRuntime.make(served)
  const url = runtime.runPromise(
    Effect.map(HttpServer.HttpServer, (server) =>
      server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
    )
  )
  return { runtime, url }
}

export type ConsoleRuntime = StartedConsole["runtime"]

/** Polls an entry until `done` holds for it; fails after `timeoutMs` (not a timing assertion). */
export const waitFor = async (
  runtime: ConsoleRuntime,
  id: string,
  done: (entry: OutboxEntry.OutboxEntry) => boolean,
  timeoutMs = 15_000
): Promise<OutboxEntry.OutboxEntry> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const entry = await runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.get(id)))
    if (done(entry)) return entry
    if (Date.now() > deadline) throw new Error(`Entry ${id} stuck in ${entry.state}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
