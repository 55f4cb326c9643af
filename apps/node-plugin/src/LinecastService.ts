/**
 * Linecast assembled for one portal: core's open channel, delivery over the database, and the CRM
 * listener's inbox and processor. The Promise API, the mountable handler and the CLI all run on
 * this one layer.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import { OpenChannel, type PortalAuth, RateBudget } from "@linecast/core"
import { EventInbox, EventProcessor, type Rules } from "@linecast/crm-webhook"
import {
  Delivery,
  DeliveryDatabase,
  type Outbox,
  PortalChannels,
  type PortalSender,
  SqlTokenStore
} from "@linecast/delivery"
import * as Layer from "effect/Layer"

/**
 * The id of the one portal in delivery (`PortalChannels`) and in the listener.
 *
 * @since 0.1.0
 * @category constants
 */
export const portalId = "default"

/**
 * @since 0.1.0
 * @category models
 */
export interface ServiceOptions {
  readonly auth: PortalAuth.PortalAuth
  readonly database: DeliveryDatabase.DatabaseOptions
  readonly rules?: Rules.RuleSet | undefined
  /** Replaces the HTTP transport (for tests and proxies). */
  readonly fetch?: typeof globalThis.fetch | undefined
  readonly delivery?: Delivery.DeliveryOptions | undefined
  readonly budget?: RateBudget.RateBudgetOptions | undefined
}

/**
 * What the layer provides to the Promise API, the handler and the CLI.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | OpenChannel.OpenChannel
  | Outbox.Outbox
  | PortalChannels.PortalChannels
  | PortalSender.PortalSender
  | SqlClient
  | EventInbox.EventInbox
  | EventProcessor.EventProcessor

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ServiceOptions): Layer.Layer<Services, unknown> => {
  const http =
    options.fetch === undefined
      ? NodeHttpClient.layerUndici
      : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, options.fetch)))
  // OAuth tokens rotate at every refresh: they live in delivery's database, shared by every runner.
  const channel = OpenChannel.layer({ auth: options.auth }).pipe(
    Layer.provide(Layer.mergeAll(http, RateBudget.layer(options.budget), SqlTokenStore.layer()))
  )
  return EventProcessor.layer({ rules: options.rules ?? { rules: [] } }).pipe(
    Layer.provideMerge(EventInbox.layer),
    Layer.provideMerge(Delivery.layer(options.delivery)),
    Layer.provideMerge(PortalChannels.layerSingle(portalId)),
    Layer.provideMerge(channel),
    Layer.provideMerge(DeliveryDatabase.layer(options.database))
  )
}
