/** Shared wiring for core's tests: an OpenChannel over real HTTP (undici) aimed at the testkit emulator. */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "../src/index.js"

export const channelLayer = (
  auth: PortalAuth.PortalAuth,
  options: {
    readonly retry?: RetryPolicy.RetryPolicy
    readonly budget?: Layer.Layer<RateBudget.RateBudget>
    readonly timeout?: number
  } = {}
) =>
  OpenChannel.layer({ auth, retry: options.retry ?? RetryPolicy.never, timeout: options.timeout ?? 5_000 }).pipe(
    Layer.provide(
      Layer.mergeAll(NodeHttpClient.layerUndici, options.budget ?? RateBudget.layerUnlimited, TokenStore.layerMemory())
    )
  )

/** Runs an effect needing OpenChannel against a webhook URL. */
export const withWebhook = <A, E>(
  url: string,
  effect: Effect.Effect<A, E, OpenChannel.OpenChannel>,
  options: Parameters<typeof channelLayer>[1] = {}
) => Effect.flatMap(PortalAuth.webhook(url), (auth) => Effect.provide(effect, channelLayer(auth, options)))

/** A short, fast retry schedule for tests that count attempts. */
export const quickRetry = RetryPolicy.make(RetryPolicy.exponential({ base: "5 millis", cap: "20 millis", times: 4 }))
