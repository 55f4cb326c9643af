/**
 * The relay as a process: settings from the environment, delivery on SQLite (or PostgreSQL) with
 * its runner in a worker thread, the portal from core's `LINECAST_WEBHOOK_URL` / OAuth settings;
 * SIGTERM and SIGINT stop it cleanly.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { OpenChannel, RateBudget } from "@linecast/core"
import { DeliveryDatabase, DeliveryWorker, PortalChannels, SqlTokenStore } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RelayConfig from "./RelayConfig.js"
import { startRelay } from "./startRelay.js"

const main = async () => {
  const options = await Effect.runPromise(RelayConfig.config)
  const database = await Effect.runPromise(DeliveryDatabase.config)
  // This thread's channel serves `/status`; OAuth tokens live in the database, shared with delivery's worker.
  const clients = Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), SqlTokenStore.layer())
  const channels = PortalChannels.layerSingle(options.portal).pipe(
    Layer.provide(OpenChannel.layerConfig()),
    Layer.provide(clients)
  )
  // The relay answers in this thread; delivery's runner (the engine) works in a worker thread.
  const layer = DeliveryWorker.layer({ database, portals: { _tag: "Environment", portal: options.portal } }).pipe(
    Layer.provideMerge(channels),
    Layer.provideMerge(DeliveryDatabase.layer(database))
  )
  const relay = await startRelay(options, layer)
  process.stdout.write(`${JSON.stringify({ url: relay.url, mode: options.mode })}\n`)
  const stop = () => {
    relay.stop().then(
      () => process.exit(0),
      () => process.exit(1)
    )
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
}

main().catch((error: unknown) => {
  // Config errors name the variable, never its value; nothing else is printed.
  process.stderr.write(`telegram-relay could not start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
