/** The relay end to end: the Telegram emulator, the portal emulator, delivery on SQLite in a temp dir. */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import type { Outbox } from "@linecast/delivery"
import { Delivery, DeliveryDatabase, DeliveryWorker, PortalChannels } from "@linecast/delivery"
import type { RunningPortalEmulator, RunningTelegramEmulator } from "@linecast/testkit"
import { Effect, Layer, Redacted } from "effect"
import type { RelayOptions } from "../src/RelayConfig.js"
import type { RelayRequirements } from "../src/RelayContext.js"
import type { StartedRelay } from "../src/startRelay.js"
import { startRelay } from "../src/startRelay.js"

/** Core's channel over the portal's incoming webhook; the real 50/2 bucket unless told `unlimited`. */
export const webhookChannel = (
  emulator: Pick<RunningPortalEmulator, "webhookUrl">,
  budget: "real" | "unlimited" = "real"
) => {
  const clients = Layer.mergeAll(
    NodeHttpClient.layerUndici,
    budget === "real" ? RateBudget.layer() : RateBudget.layerUnlimited,
    TokenStore.layerMemory()
  )
  return Layer.unwrapEffect(
    Effect.map(PortalAuth.webhook(emulator.webhookUrl), (auth) =>
      OpenChannel.layer({ auth, retry: RetryPolicy.never, timeout: 2_000 }).pipe(Layer.provide(clients))
    )
  )
}

export const freshSqliteFile = () => join(mkdtempSync(join(tmpdir(), "linecast-telegram-")), "linecast.sqlite")

export const operator = 100
export const mediaSecret = "media-signing-secret-for-tests"

export interface RelaySetup {
  readonly telegram: RunningTelegramEmulator
  readonly portal: RunningPortalEmulator
  readonly database?: string
  readonly windowSeconds?: number
  /** The portal is a Partner (NFR) one: no weekly rule in delivery's ledger either. */
  readonly nfr?: boolean
  /** Core's client-side bucket: Bitrix24's real 50/2 (default) or none (benchmarks). */
  readonly budget?: "real" | "unlimited"
  readonly options?: Partial<RelayOptions>
  /**
   * Delivery's runner in a worker thread, as `main.ts` deploys it (on SQLite new entries then go through delivery's
   * intake journal); by default all of delivery runs in the relay's thread.
   */
  readonly worker?: boolean
}

/** Delivery on SQLite and the portal emulator; the portal's week and delivery's ledger shortened alike. */
export const testDelivery = (
  setup: Omit<RelaySetup, "telegram" | "options">
): Layer.Layer<RelayRequirements, unknown> => {
  const windowMs = (setup.windowSeconds ?? 2) * 1000
  const options: Delivery.DeliveryOptions = {
    ledger: { windowMs, probeAfterMs: 500, exemptPortals: setup.nfr === true ? ["default"] : [] },
    retries: { heldRetryMs: 100, retryDelaysMs: [100, 200, 400, 800] },
    // As delivery's and the reliability suite's restart tests: work a stop cut off is nudged after 3 s, not 30.
    outbox: { stallMs: 3_000 },
    sharding: { entityMessagePollInterval: "100 millis", entityTerminationTimeout: "1 second" }
  }
  const database = { kind: "sqlite", filename: setup.database ?? freshSqliteFile() } as const
  const outbox: Layer.Layer<Outbox.Outbox, unknown, PortalChannels.PortalChannels | SqlClient.SqlClient> =
    setup.worker === true
      ? DeliveryWorker.layer({
          database,
          portals: {
            _tag: "Webhooks",
            portals: [{ id: "default", webhookUrl: setup.portal.webhookUrl, timeout: 2_000 }]
          },
          delivery: options
        })
      : Delivery.layer(options)
  return outbox.pipe(
    Layer.provideMerge(
      PortalChannels.layerSingle("default").pipe(Layer.provide(webhookChannel(setup.portal, setup.budget)))
    ),
    Layer.provideMerge(DeliveryDatabase.layer(database))
  )
}

/** The relay's settings for the emulators. */
export const testOptions = (setup: RelaySetup): RelayOptions => ({
  token: Redacted.make(setup.telegram.token),
  mode: "polling",
  operators: [operator],
  operatorChats: [],
  routing: {
    lineCode: setup.portal.lineCode,
    recipients: { boris: 2, carla: 3, dmitri: 4 },
    groups: { sales: [2, 4] },
    routes: { [String(operator)]: "carla" },
    mentions: { boris_tg: 2 }
  },
  portal: "default",
  policy: "defer",
  media: { secret: Redacted.make(mediaSecret), ttlSeconds: 3600, maxBytes: 1024 * 1024 },
  listen: { host: "127.0.0.1", port: 0 },
  apiRoot: setup.telegram.apiRoot,
  botInfo: setup.telegram.botInfo,
  followUpPollMs: 200,
  albumQuietMs: 300,
  concurrency: 100,
  ...setup.options
})

/** The relay on both emulators, on its own runtime. */
export const startTestRelay = (setup: RelaySetup): Promise<StartedRelay> =>
  startRelay(testOptions(setup), testDelivery(setup))

/** Polls until `check` holds; fails the test after `timeoutMs` (not a timing assertion). */
export const eventually = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** What the bot said to a chat, oldest first. */
export const replies = (telegram: RunningTelegramEmulator, chatId: number) =>
  telegram.control
    .sent(chatId)
    .filter((sent) => sent.method === "sendMessage")
    .map((sent) => sent.text ?? "")

/** Waits for the bot to say something matching to a chat. */
export const replyMatching = async (telegram: RunningTelegramEmulator, chatId: number, pattern: RegExp) => {
  const sent = await telegram.control.waitForSent(
    (candidate) => candidate.chatId === chatId && pattern.test(candidate.text ?? ""),
    15_000
  )
  return sent.text ?? ""
}
