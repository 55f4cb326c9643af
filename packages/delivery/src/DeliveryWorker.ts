/**
 * Delivery's runner in a worker thread of this process, and the outbox in this thread: an adapter
 * (the Telegram relay, the CRM listener) takes its input in and answers at once, while the engine's
 * work (about 6–7 ms of CPU for each message it delivers, see packages/bench/results.md) runs on
 * another core instead of between the adapter's requests.
 *
 * This thread stores entries and their places in admission (`Delivery.layerIngest`), wakes the
 * worker's dispatcher, and hears of the entries the worker saves (the outbox's `changes`); the worker
 * runs the whole `Delivery.layer` on the same database. The worker is built from plain data (a worker
 * thread shares no objects), so its portals are given as webhook portals or read from the
 * environment, as `OpenChannel.layerConfig` reads them. A worker that dies
 * is started again; closing the layer stops it gracefully (in-flight work finishes or is handed back).
 *
 * On SQLite this thread's connection leaves the write-ahead log's checkpoints to the worker's: copying
 * the log back into the file costs about as much as the commits that filled it, and it is background
 * work (the worker commits every few milliseconds while anything is on its way, so the log stays short).
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { extname } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { setFlagsFromString } from "node:v8"
import { Worker } from "node:worker_threads"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { DeliveryOptions } from "./Delivery.js"
import * as Delivery from "./Delivery.js"
import type { DatabaseOptions } from "./DeliveryDatabase.js"
import type { OutboxStorageError } from "./DeliveryError.js"
import * as EntryChanges from "./EntryChanges.js"
import type { WorkerData, WorkerEvent } from "./internal/workerProtocol.js"
import * as WriteTurns from "./internal/writeTurns.js"
import type * as Outbox from "./Outbox.js"
import type { WebhookPortal } from "./PortalChannels.js"

/**
 * Where the worker's portals come from: webhook portals (their URLs are handed to the worker thread,
 * never further), or the environment (`LINECAST_WEBHOOK_URL` or the OAuth settings, one portal named
 * `portal`, its OAuth tokens kept in the database by `SqlTokenStore`).
 *
 * @since 0.1.0
 * @category models
 */
export type WorkerPortals =
  | { readonly _tag: "Webhooks"; readonly portals: ReadonlyArray<Omit<WebhookPortal, "retry">> }
  | { readonly _tag: "Environment"; readonly portal: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerOptions {
  readonly database: DatabaseOptions
  readonly portals: WorkerPortals
  /** Plain data only: durations as numbers or strings such as `"1 second"`. */
  readonly delivery?: Omit<DeliveryOptions, "runner"> | undefined
  /** How long a graceful stop may take before the worker is ended. */
  readonly stopTimeoutMs?: number | undefined
  /**
   * How far the worker thread stands back when the machine's cores are all busy: a Linux nice value, from 0
   * (level with the owner's thread) to 19; 10 by default. Delivery's pace is the portals' rate limits, while
   * the owner's thread answers people, so on a busy machine the worker is the one that waits. Other systems
   * give a priority to the whole process, not to a thread: there it is not set.
   *
   * Standing back (above 0, on Linux) also has each thread collect its own young generation: V8 otherwise does
   * it with helper threads shared by the whole process, which ran the worker's collections beside the owner's
   * thread at the owner's priority, whatever the worker's. V8's flags are the process's: the owner's thread then
   * collects its own young generation alone too (`--no-parallel-scavenge`).
   */
  readonly niceness?: number | undefined
}

/**
 * The worker could not start (its database, its portals or the engine failed), or stopped.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeliveryWorkerError extends Schema.TaggedError<DeliveryWorkerError>()("DeliveryWorkerError", {
  message: Schema.String
}) {}

/** The worker's module beside this one: TypeScript when running from source (tests, `tsx`), else JavaScript. */
const entry = new URL(`./internal/workerMain${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

/** From source, the worker loads its TypeScript through tsx (a development dependency), as the rest of the process does. */
const spawn = (data: WorkerData): Worker => {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData: data })
  const require = createRequire(import.meta.url)
  const api = pathToFileURL(require.resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs")
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`
  return new Worker(code, { eval: true, workerData: data, execArgv: ["--conditions=@linecast/source"] })
}

/** A worker thread shares no objects: secrets travel as plain strings, inside this process only. */
const dataOf = (options: WorkerOptions): WorkerData => ({
  database:
    options.database.kind === "postgres"
      ? { kind: "postgres", url: Redacted.value(options.database.url) }
      : {
          kind: "sqlite",
          filename: options.database.filename,
          turns: WriteTurns.share(options.database.filename)
        },
  portals:
    options.portals._tag === "Environment"
      ? options.portals
      : {
          _tag: "Webhooks",
          portals: options.portals.portals.map((portal) => ({
            ...portal,
            webhookUrl: Redacted.isRedacted(portal.webhookUrl) ? Redacted.value(portal.webhookUrl) : portal.webhookUrl
          }))
        },
  delivery: options.delivery ?? {},
  niceness: options.niceness ?? 10
})

/**
 * A worker that stands back collects its own garbage (see `niceness`). Measured in the relay's benchmark (6 December,
 * tenth session, two vCPUs): V8's shared helper threads ran 0.6–0.7 s of each 2 s round, about half of it the
 * worker's collections, at full priority beside the relay's thread, which waited for a core 8–13 % of a round;
 * collecting in place, it waits about 2 %.
 */
const collectInPlace = (data: WorkerData) => {
  if (process.platform === "linux" && data.niceness > 0) setFlagsFromString("--no-parallel-scavenge")
}

/** Starts a worker and waits until its runner is up; its events after that go to `events`. */
const startWorker = (data: WorkerData, events: (event: WorkerEvent) => void) =>
  Effect.async<Worker, DeliveryWorkerError>((resume) => {
    const worker = spawn(data)
    let ready = false
    worker.on("message", (event: WorkerEvent) => {
      if (ready) return events(event)
      if (event._tag === "Ready") {
        ready = true
        resume(Effect.succeed(worker))
      } else if (event._tag === "Failed") {
        resume(Effect.fail(new DeliveryWorkerError({ message: `delivery's worker could not start: ${event.message}` })))
      }
    })
    worker.on("error", (error) => {
      if (!ready)
        resume(Effect.fail(new DeliveryWorkerError({ message: `delivery's worker failed: ${error.message}` })))
    })
    worker.on("exit", (code) => {
      if (!ready) resume(Effect.fail(new DeliveryWorkerError({ message: `delivery's worker exited (${code})` })))
      else events({ _tag: "Exited", code })
    })
    return Effect.promise(() => worker.terminate())
  })

/**
 * The outbox of this thread, with delivery's runner in a worker thread on the same database.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: WorkerOptions
): Layer.Layer<Outbox.Outbox, DeliveryWorkerError | OutboxStorageError, SqlClient.SqlClient> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const data = dataOf(options)
      if (!Number.isInteger(data.niceness) || data.niceness < 0 || data.niceness > 19) {
        return yield* new DeliveryWorkerError({
          message: `niceness must be a whole number from 0 to 19, not ${data.niceness}`
        })
      }
      let current: Worker | undefined
      let stopping = false
      let restarts = 0
      const changes = yield* EntryChanges.make
      const onEvent = (event: WorkerEvent) => {
        if (event._tag === "Changed") return Effect.runSync(changes.publish(event.ids))
        if (event._tag !== "Exited" || stopping) return
        // The worker died (a defect in the engine, memory): accepted work waits in the database; start it again.
        const delay = Math.min(30_000, 500 * 2 ** Math.min(restarts++, 6))
        process.emitWarning(`delivery's worker exited (${event.code}); starting it again in ${delay} ms`)
        current = undefined
        setTimeout(() => {
          if (stopping) return
          Effect.runPromise(startWorker(data, onEvent)).then(
            (worker) => {
              current = worker
              restarts = 0
            },
            (error: unknown) => {
              process.emitWarning(error instanceof Error ? error.message : String(error))
              onEvent({ _tag: "Exited", code: -1 })
            }
          )
        }, delay).unref()
      }
      collectInPlace(data)
      current = yield* startWorker(data, onEvent)
      // This thread's connection leaves the log's checkpoints to the worker's (see above).
      const sql = yield* SqlClient.SqlClient
      const noCheckpoints: Effect.Effect<void, SqlError> = sql.onDialectOrElse({
        sqlite: () => Effect.asVoid(sql.unsafe("PRAGMA wal_autocheckpoint = 0")),
        orElse: () => Effect.void
      })
      yield* Effect.mapError(
        noCheckpoints,
        (error) => new DeliveryWorkerError({ message: `the database: ${error.message}` })
      )
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          stopping = true
          const worker = current
          if (worker === undefined) return
          const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()))
          worker.postMessage({ _tag: "Stop" })
          const timeout = setTimeout(() => void worker.terminate(), options.stopTimeoutMs ?? 30_000)
          await exited
          clearTimeout(timeout)
        })
      )
      // One wake a turn of the event loop is enough: the dispatcher admits everything that is ready.
      let waking = false
      const wake = Effect.sync(() => {
        if (waking || current === undefined) return
        waking = true
        setImmediate(() => {
          waking = false
          current?.postMessage({ _tag: "Wake" })
        })
      })
      // On SQLite new entries go through the intake journal: the worker moves them in, off this thread.
      return Delivery.layerIngest({
        ledger: options.delivery?.ledger,
        wake,
        changes,
        journal: options.database.kind === "sqlite"
      })
    })
  )
