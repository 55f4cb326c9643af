/** Delivery over a real database, sending through core to the testkit portal emulator. */
import { mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { SqlClient } from "@effect/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, afterEach, beforeAll } from "@effect/vitest"
import type { NetworkMessage } from "@linecast/core"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Either, Layer, ManagedRuntime, Redacted } from "effect"
import * as Admission from "../src/Admission.js"
import type { DeliveryOptions } from "../src/Delivery.js"
import * as Delivery from "../src/Delivery.js"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import { type EnqueueOptions, Outbox } from "../src/Outbox.js"
import type { OutboxEntry } from "../src/OutboxEntry.js"
import * as PortalChannels from "../src/PortalChannels.js"

/** The window both sides use in tests: the emulator's weekly rule and the ledger, in seconds. */
export const windowSeconds = 2

export type Database = "sqlite" | "postgres"

const schemas: Array<string> = []
const adminUrl = Redacted.make("postgres://postgres@127.0.0.1:5432/test")

/** Drops the PostgreSQL schemas this run created, so that runs do not pile up in the test database. */
export const dropDatabases = async () => {
  if (schemas.length === 0) return
  const admin = ManagedRuntime.make(PgClient.layer({ url: adminUrl }))
  await admin.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.forEach(schemas.splice(0), (schema) => sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`), {
        discard: true
      })
    )
  )
  await admin.dispose()
}

/** A fresh database: a SQLite file in a temporary folder, or a PostgreSQL schema of its own. */
export const freshDatabase = async (kind: Database): Promise<DeliveryDatabase.DatabaseOptions> => {
  if (kind === "sqlite") {
    return { kind: "sqlite", filename: join(mkdtempSync(join(tmpdir(), "linecast-delivery-")), "outbox.sqlite") }
  }
  const schema = `linecast_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`
  const admin = ManagedRuntime.make(PgClient.layer({ url: adminUrl }))
  await admin.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE SCHEMA ${schema}`)))
  schemas.push(schema)
  await admin.dispose()
  return {
    kind: "postgres",
    url: Redacted.make(`postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D${schema}`)
  }
}

export const channelFor = (emulator: RunningPortalEmulator) =>
  Layer.unwrapEffect(
    Effect.map(PortalAuth.webhook(emulator.webhookUrl), (auth) =>
      OpenChannel.layer({ auth, retry: RetryPolicy.never, timeout: 2_000 }).pipe(
        Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), TokenStore.layerMemory()))
      )
    )
  )

/**
 * Channels to several emulated portals, each with its own budget: the emulator serves them all on
 * one host (under `/p/<id>/`), and core keys a budget by host.
 */
export const channelsFor = (
  emulator: RunningPortalEmulator,
  portals: ReadonlyArray<{ readonly id: string; readonly bucket?: RateBudget.RateBudgetOptions }>
): Layer.Layer<PortalChannels.PortalChannels> =>
  PortalChannels.layerWebhooks(
    portals.map((portal) => ({
      id: portal.id,
      webhookUrl: emulator.control.info(portal.id).webhookUrls[0]!,
      bucket: portal.bucket,
      retry: RetryPolicy.never,
      timeout: 2_000
    }))
  ).pipe(Layer.provide(Layer.merge(NodeHttpClient.layerUndici, TokenStore.layerMemory())), Layer.orDie)

/** A running delivery: the outbox of one portal ("demo") over the given database, or of the given portals. */
export const startDelivery = (
  emulator: RunningPortalEmulator,
  database: DeliveryDatabase.DatabaseOptions,
  options: DeliveryOptions = {},
  channels: Layer.Layer<PortalChannels.PortalChannels> = PortalChannels.layerSingle("demo").pipe(
    Layer.provide(channelFor(emulator)),
    Layer.orDie
  )
) =>
  ManagedRuntime.make(
    Delivery.layer({
      ...options,
      ledger: { windowMs: windowSeconds * 1000, probeAfterMs: 500, ...options.ledger },
      retries: { heldRetryMs: 100, retryDelaysMs: [100, 200, 400], reconcileAttempts: 3, ...options.retries },
      sharding: {
        entityMessagePollInterval: "100 millis",
        entityTerminationTimeout: "1 second",
        // The engine's advisory lock numbers are the same in every schema: tests running side by side
        // in one database would take each other's shards. Table locks stay in the test's schema.
        shardLockDisableAdvisory: database.kind === "postgres",
        ...options.sharding
      }
    }).pipe(Layer.provide(channels), Layer.provideMerge(DeliveryDatabase.layer(database)))
  )

export type DeliveryRuntime = ReturnType<typeof startDelivery>

/** How many entries wait in admission and how many are admitted. */
export const admissionCounts = (runtime: DeliveryRuntime) =>
  runtime.runPromise(Effect.flatMap(Admission.Admission, (admission) => admission.counts))

/** A partner (NFR) portal with one user (1, Nora), and delivery over a fresh SQLite file that knows it has no weekly rule. */
export const startPartnerDelivery = async (emulator: RunningPortalEmulator, options: DeliveryOptions = {}) => {
  const partner = emulator.control.createPortal({
    users: [{ id: 1, name: "Nora" }],
    webhooks: [{ userId: 1 }],
    lines: [{}],
    nfr: true
  })
  const runtime = startDelivery(
    emulator,
    await freshDatabase("sqlite"),
    { ...options, ledger: { exemptPortals: [partner.id], ...options.ledger } },
    channelsFor(emulator, [{ id: partner.id }])
  )
  return { partner, runtime }
}

/** Polls an entry until `done` holds for it; fails the test after `timeoutMs` (not a timing assertion). */
export const waitFor = async (
  runtime: DeliveryRuntime,
  id: string,
  done: (entry: OutboxEntry) => boolean,
  timeoutMs = 15_000
): Promise<OutboxEntry> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const entry = await runtime.runPromise(Effect.flatMap(Outbox, (outbox) => outbox.get(id)))
    if (done(entry)) return entry
    if (Date.now() > deadline)
      throw new Error(`Entry ${id} stuck in ${entry.state}: ${JSON.stringify(entry.lastError)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * A test file's emulator (one for the file) and the delivery each test starts (`suite.runtime`, disposed after
 * the test); `started` sets the emulator up once, `cleanUp` runs after each test's delivery is gone; the file's
 * PostgreSQL schemas are dropped at the end.
 */
export const deliverySuite = (
  options: {
    readonly started?: (emulator: RunningPortalEmulator) => void
    readonly cleanUp?: (emulator: RunningPortalEmulator) => void
  } = {}
) => {
  let emulator: RunningPortalEmulator | undefined
  const suite = {
    get emulator(): RunningPortalEmulator {
      if (emulator === undefined) throw new Error("the emulator starts before the file's first test")
      return emulator
    },
    runtime: undefined as DeliveryRuntime | undefined
  }
  beforeAll(async () => {
    emulator = await startPortalEmulator()
    options.started?.(emulator)
  })
  afterAll(async () => {
    await emulator?.close()
    await dropDatabases()
  })
  afterEach(async () => {
    await suite.runtime?.dispose()
    suite.runtime = undefined
    if (emulator !== undefined) options.cleanUp?.(emulator)
  })
  return suite
}

/** A port nobody listens on now, for a runner's address. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** One message for `enqueueMany` to the emulator's demo portal. */
export const demoItem = (
  lineCode: string,
  userId: number,
  text: string,
  options: Partial<EnqueueOptions> & { idempotencyKey: string }
) => ({
  message: { lineCode, userId, message: text } satisfies NetworkMessage.NetworkMessage,
  options: { portal: "demo", ...options }
})

/** An item `enqueueMany` accepted; a refused one fails the test. */
export const accepted = <A, E>(result: Either.Either<A, E> | undefined): A => {
  if (result === undefined || Either.isLeft(result)) throw new Error(`expected an accepted item, got ${String(result)}`)
  return result.right
}
