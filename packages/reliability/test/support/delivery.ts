/**
 * Delivery in this process, over a SQLite file or a PostgreSQL schema, sending through core to the
 * emulator with test timings (short retries, a short-lived breaker); every outgoing request and
 * every log line recorded, for the only-127.0.0.1 check and the secrets scan.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { OpenChannel, type PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import {
  Delivery,
  DeliveryDatabase,
  Outbox,
  type OutboxEntry,
  PortalChannels,
  type PortalSender
} from "@linecast/delivery"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { Effect, Layer, Logger, ManagedRuntime } from "effect"
import { eventually, full } from "./chaos.js"

export const portalId = "default"

export interface Recorder {
  readonly requests: Array<string>
  readonly logs: Array<string>
}

export const recorder = (): Recorder => ({ requests: [], logs: [] })

const recordingFetch =
  (record: Recorder): typeof globalThis.fetch =>
  (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    record.requests.push(url)
    return globalThis.fetch(input, init)
  }

export const sqliteFile = () => join(mkdtempSync(join(tmpdir(), "linecast-reliability-")), "outbox.sqlite")

export type DeliveryRuntime = ManagedRuntime.ManagedRuntime<Outbox.Outbox | PortalSender.PortalSender, unknown>

export const startDelivery = (
  auth: PortalAuth.PortalAuth,
  database: DeliveryDatabase.DatabaseOptions,
  record: Recorder,
  /** The outbox's timings, over the test ones below (the SQLite fault test shortens the stall sweep). */
  outbox: Partial<Outbox.OutboxOptions> = {}
): DeliveryRuntime => {
  const http = FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, recordingFetch(record))))
  const channel = OpenChannel.layer({ auth, retry: RetryPolicy.never, timeout: 2_000 }).pipe(
    Layer.provide(Layer.mergeAll(http, RateBudget.layer(), TokenStore.layerMemory()))
  )
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message, cause, annotations }) => {
      record.logs.push(`${JSON.stringify(message)} ${String(cause)} ${JSON.stringify([...annotations])}`)
    })
  )
  return ManagedRuntime.make(
    Delivery.layer({
      // About 6 s of retries in all (25 s in full runs; production: 43 minutes); reconciling goes on longer,
      // so that an unlucky run of lost answers does not leave an entry to an operator.
      retries: {
        heldRetryMs: 100,
        retryDelaysMs: full ? [100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800] : [100, 200, 400, 800, 1_600, 3_200],
        reconcileAttempts
      },
      portals: { breaker: { failureThreshold: 5, openMs: 300, maxOpenMs: 2_000 } },
      outbox: { sweepIntervalMs: 500, ...outbox },
      sharding: {
        entityMessagePollInterval: "100 millis",
        entityTerminationTimeout: "1 second",
        shardLockDisableAdvisory: database.kind === "postgres"
      }
    }).pipe(
      Layer.provideMerge(PortalChannels.layerSingle(portalId)),
      Layer.provide(channel),
      Layer.provide(DeliveryDatabase.layer(database)),
      Layer.provide(logger)
    )
  )
}

let nextUser = 5_000

/** Enqueues `count` messages, each to a new user of the emulated portal (the weekly rule never holds one back). */
export const enqueueBurst = async (
  runtime: DeliveryRuntime,
  emulator: RunningPortalEmulator,
  label: string,
  count: number
): Promise<ReadonlyArray<{ readonly id: string; readonly userId: number; readonly text: string }>> => {
  const made: Array<{ id: string; userId: number; text: string }> = []
  for (let index = 0; index < count; index++) {
    const userId = nextUser++
    emulator.control.portal("demo").addUser({ id: userId })
    const text = `${label} ${index}`
    const { entry } = await runtime.runPromise(
      Effect.flatMap(Outbox.Outbox, (outbox) =>
        outbox.enqueue(
          { lineCode: emulator.lineCode, userId, message: text },
          { idempotencyKey: `${label}/${index}`, portal: portalId, policy: "reject" }
        )
      )
    )
    made.push({ id: entry.id, userId, text })
  }
  return made
}

export const entries = (runtime: DeliveryRuntime): Promise<ReadonlyArray<OutboxEntry.OutboxEntry>> =>
  runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.list({ limit: 1_000_000 })))

/** Waits (bounded) until every entry is settled: sent, or dead with its reason. */
/** The reconciling attempts delivery is given here; past them an ambiguous entry is left to an operator. */
const reconcileAttempts = 10

/** Ambiguous and no longer reconciled: left to an operator with its reason (a dead letter of its own kind). */
export const parked = (entry: OutboxEntry.OutboxEntry): boolean =>
  entry.state === "ambiguous" && entry.attempts > reconcileAttempts

const final = (entry: OutboxEntry.OutboxEntry) => entry.state === "sent" || entry.state === "dead" || parked(entry)

export const settled = (runtime: DeliveryRuntime, timeoutMs: number) =>
  eventually(async () => (await entries(runtime)).every(final), "every entry sent or dead-lettered", timeoutMs).catch(
    async (error) => {
      const states: Record<string, number> = {}
      for (const entry of await entries(runtime)) states[entry.state] = (states[entry.state] ?? 0) + 1
      const stuck = (await entries(runtime)).filter((entry) => !final(entry))
      throw new Error(`${error.message}: ${JSON.stringify(states)} ${JSON.stringify(stuck.slice(0, 3))}`)
    }
  )

export interface Exactness {
  readonly sent: number
  readonly dead: number
  /** Left `ambiguous` to an operator after every reconciling attempt was ambiguous too. */
  readonly parked: number
  readonly unsettled: number
  /** Entries `sent` whose message is not in the inbox, or dead ones whose message is. */
  readonly lost: number
  readonly duplicated: number
  readonly settlements: Readonly<Record<string, number>>
  readonly deadReasons: Readonly<Record<string, number>>
}

/** Every entry against the inbox: a sent one has its message exactly once, a dead one has none. */
export const exactness = async (runtime: DeliveryRuntime, emulator: RunningPortalEmulator): Promise<Exactness> => {
  const all = await entries(runtime)
  const byUser = new Map<number, Array<string>>()
  for (const message of emulator.control.inbox("demo")) {
    byUser.set(message.userId, [...(byUser.get(message.userId) ?? []), message.message])
  }
  const tally = (values: ReadonlyArray<string>) => {
    const counts: Record<string, number> = {}
    for (const value of values) counts[value] = (counts[value] ?? 0) + 1
    return counts
  }
  let lost = 0
  let duplicated = 0
  for (const entry of all) {
    const received = byUser.get(entry.message.userId) ?? []
    duplicated += Math.max(0, received.length - 1)
    if (entry.state === "sent" && !received.includes(entry.message.message)) lost++
    if (entry.state === "dead" && received.length > 0) lost++
  }
  return {
    sent: all.filter((entry) => entry.state === "sent").length,
    dead: all.filter((entry) => entry.state === "dead").length,
    parked: all.filter(parked).length,
    unsettled: all.filter((entry) => !final(entry)).length,
    lost,
    duplicated,
    settlements: tally(all.flatMap((entry) => (entry.settlement === undefined ? [] : [entry.settlement]))),
    deadReasons: tally(all.flatMap((entry) => (entry.state === "dead" ? [entry.lastError?.code ?? "none"] : [])))
  }
}
