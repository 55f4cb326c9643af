/** Delivery as the bench runs it: the outbox of one portal ("demo") over a database, sending through core. */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import type { Admission, Outbox } from "@linecast/delivery"
import { Delivery, DeliveryDatabase, PortalChannels } from "@linecast/delivery"
import { Effect, Layer, ManagedRuntime } from "effect"

export interface DeliveryRuntimeOptions {
  readonly webhookUrl: string
  readonly database: DeliveryDatabase.DatabaseOptions
  /** The portal's bucket as core should assume it; unlimited when missing. */
  readonly bucket?: { readonly limit: number; readonly drainPerSecond: number }
  readonly retries?: Delivery.DeliveryOptions["retries"]
  /** The engine's settings; by default it polls its storage every 100 ms, to keep short runs short. */
  readonly sharding?: Delivery.DeliveryOptions["sharding"]
  /** This runner's address, when several runners share a PostgreSQL database. */
  readonly runner?: { readonly host: string; readonly port: number }
}

export const makeDeliveryRuntime = (
  options: DeliveryRuntimeOptions
): ManagedRuntime.ManagedRuntime<Outbox.Outbox | Admission.Admission, unknown> => {
  const budget = options.bucket === undefined ? RateBudget.layerUnlimited : RateBudget.layer(options.bucket)
  const channel = Layer.unwrapEffect(
    Effect.map(PortalAuth.webhook(options.webhookUrl), (auth) =>
      OpenChannel.layer({ auth, retry: RetryPolicy.defaultPolicy, timeout: 5_000 })
    )
  ).pipe(Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, budget, TokenStore.layerMemory())))
  return ManagedRuntime.make(
    Delivery.layer({
      // The bench portal is a partner (NFR) portal: the weekly rule is not what is measured.
      ledger: { exemptPortals: ["demo"] },
      retries: { heldRetryMs: 100, retryDelaysMs: [200, 400, 800, 1_600], reconcileAttempts: 3, ...options.retries },
      sharding: options.sharding ?? { entityMessagePollInterval: "100 millis", entityTerminationTimeout: "1 second" },
      runner: options.runner
    }).pipe(
      Layer.provide(PortalChannels.layerSingle("demo").pipe(Layer.provide(channel))),
      Layer.provide(DeliveryDatabase.layer(options.database))
    )
  )
}
