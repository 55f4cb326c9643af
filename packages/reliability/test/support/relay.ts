/**
 * The Telegram relay in this process, in webhook mode with a secret token, between the testkit's
 * Telegram emulator and its portal emulator, on delivery over a SQLite file: the relay's public
 * `startRelay` on a layer built as an embedder builds it. The portal is a Partner one (no weekly
 * rule there nor in delivery's ledger), so that a duplicate would show as a second message instead
 * of being refused by the rule. Every log line is recorded, for the secrets scan.
 */
import { randomBytes } from "node:crypto"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import { Delivery, DeliveryDatabase, PortalChannels } from "@linecast/delivery"
import { type RelayConfig, type StartedRelay, startRelay } from "@linecast/telegram-relay"
import type { RunningPortalEmulator, RunningTelegramEmulator } from "@linecast/testkit"
import { Effect, Layer, Logger, Redacted } from "effect"
import { sqliteFile } from "./delivery.js"

export const operator = 100

export interface WebhookRelay {
  readonly relay: StartedRelay
  readonly webhookUrl: string
  /** The secret token Telegram sends with every update. */
  readonly secretToken: string
  readonly mediaSecret: string
  /** Every log line of the relay and of delivery under it. */
  readonly logs: Array<string>
}

export const startWebhookRelay = async (
  telegram: RunningTelegramEmulator,
  portal: RunningPortalEmulator
): Promise<WebhookRelay> => {
  const logs: Array<string> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message, cause, annotations }) => {
      logs.push(`${JSON.stringify(message)} ${String(cause)} ${JSON.stringify([...annotations])}`)
    })
  )
  const clients = Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layerUnlimited, TokenStore.layerMemory())
  const channel = Layer.unwrapEffect(
    Effect.map(PortalAuth.webhook(portal.webhookUrl), (auth) =>
      OpenChannel.layer({ auth, retry: RetryPolicy.never, timeout: 2_000 }).pipe(Layer.provide(clients))
    )
  )
  const services = Delivery.layer({
    ledger: { exemptPortals: ["default"] },
    retries: { heldRetryMs: 100, retryDelaysMs: [100, 200, 400, 800] },
    sharding: { entityMessagePollInterval: "100 millis", entityTerminationTimeout: "1 second" }
  }).pipe(
    Layer.provideMerge(PortalChannels.layerSingle("default").pipe(Layer.provide(channel))),
    Layer.provideMerge(DeliveryDatabase.layer({ kind: "sqlite", filename: sqliteFile() })),
    // Below everything, so that the relay's runtime logs through it too.
    Layer.provideMerge(logger)
  )
  const secretToken = randomBytes(24).toString("base64url")
  const mediaSecret = randomBytes(24).toString("hex")
  const options: RelayConfig.RelayOptions = {
    token: Redacted.make(telegram.token),
    mode: "webhook",
    webhook: { secretToken: Redacted.make(secretToken) },
    operators: [operator],
    operatorChats: [],
    routing: { lineCode: portal.lineCode, recipients: {}, groups: {}, routes: {}, mentions: {} },
    portal: "default",
    policy: "defer",
    media: { secret: Redacted.make(mediaSecret), ttlSeconds: 3_600, maxBytes: 1024 * 1024 },
    listen: { host: "127.0.0.1", port: 0 },
    apiRoot: telegram.apiRoot,
    botInfo: telegram.botInfo,
    followUpPollMs: 200,
    albumQuietMs: 300,
    concurrency: 100
  }
  const relay = await startRelay(options, services)
  return { relay, webhookUrl: relay.webhookUrl!, secretToken, mediaSecret, logs }
}
