/**
 * The relay as a process: settings from the environment, delivery on SQLite (or PostgreSQL), the
 * portal from core's `LINECAST_WEBHOOK_URL` / OAuth settings; SIGTERM and SIGINT stop it cleanly.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { OpenChannel, RateBudget, TokenStore } from "@linecast/core"
import { Delivery, DeliveryDatabase, PortalChannels } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RelayConfig from "./RelayConfig.js"
import { startRelay } from "./startRelay.js"

const main = async () => {
  const options = await Effect.runPromise(RelayConfig.config)
  const clients = Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), TokenStore.layerMemory())
  const channels = PortalChannels.layerSingle(options.portal).pipe(
    Layer.provide(OpenChannel.layerConfig()),
    Layer.provide(clients)
  )
  const layer = Delivery.layer().pipe(Layer.provideMerge(channels), Layer.provideMerge(DeliveryDatabase.layerConfig))
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
