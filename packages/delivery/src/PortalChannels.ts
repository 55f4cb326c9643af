/**
 * The open channel of each portal delivery sends to, by portal id: delivery is sharded by portal,
 * and every portal has its own address, credentials and rate budget.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { RetryPolicy, TokenStore } from "@linecast/core"
import { OpenChannel, PortalAuth, RateBudget } from "@linecast/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * A message names a portal delivery has no channel for.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownPortalError extends Schema.TaggedError<UnknownPortalError>()("UnknownPortalError", {
  portal: Schema.String
}) {
  override get message() {
    return `No open channel is configured for portal "${this.portal}"`
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PortalChannels extends Context.Tag("@linecast/delivery/PortalChannels")<
  PortalChannels,
  {
    readonly channel: (portal: string) => Effect.Effect<OpenChannel.OpenChannel.Service, UnknownPortalError>
    readonly portals: ReadonlyArray<string>
  }
>() {}

/**
 * Channels given up front, by portal id.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  channels: Readonly<Record<string, OpenChannel.OpenChannel.Service>>
): Layer.Layer<PortalChannels> =>
  Layer.succeed(PortalChannels, {
    portals: Object.keys(channels),
    channel: (portal) => {
      const channel = channels[portal]
      return channel === undefined ? Effect.fail(new UnknownPortalError({ portal })) : Effect.succeed(channel)
    }
  })

/**
 * One portal, named `default` unless told otherwise, served by the `OpenChannel` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSingle = (portal = "default"): Layer.Layer<PortalChannels, never, OpenChannel.OpenChannel> =>
  Layer.effect(
    PortalChannels,
    Effect.map(OpenChannel.OpenChannel, (channel) => ({
      portals: [portal],
      channel: (name: string) =>
        name === portal ? Effect.succeed(channel) : Effect.fail(new UnknownPortalError({ portal: name }))
    }))
  )

/**
 * One portal reached through an incoming webhook.
 *
 * @since 0.1.0
 * @category models
 */
export interface WebhookPortal {
  readonly id: string
  readonly webhookUrl: string | Redacted.Redacted<string>
  /** The portal's leaky bucket; Bitrix24's 50 and 2/s by default. */
  readonly bucket?: RateBudget.RateBudgetOptions | undefined
  readonly retry?: RetryPolicy.RetryPolicy | undefined
  readonly timeout?: OpenChannel.OpenChannelOptions["timeout"]
}

/**
 * Channels to many portals, each with its own rate budget (so that portals sharing a host, behind one proxy or
 * emulator, never share a bucket).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWebhooks = (
  portals: ReadonlyArray<WebhookPortal>
): Layer.Layer<PortalChannels, PortalAuth.PortalAddressError, HttpClient.HttpClient | TokenStore.TokenStore> =>
  Layer.effect(
    PortalChannels,
    Effect.gen(function* () {
      const channels: Record<string, OpenChannel.OpenChannel.Service> = {}
      for (const portal of portals) {
        const auth = yield* PortalAuth.webhook(portal.webhookUrl)
        channels[portal.id] = yield* OpenChannel.make({
          auth,
          retry: portal.retry,
          timeout: portal.timeout
        }).pipe(Effect.provideServiceEffect(RateBudget.RateBudget, RateBudget.make(portal.bucket)))
      }
      return yield* Effect.provide(PortalChannels, layer(channels))
    })
  )
