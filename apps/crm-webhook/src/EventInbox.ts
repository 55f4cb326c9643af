/**
 * Events are persisted before they are acknowledged: one row per event in delivery's database,
 * under a dedupe key, so that a replayed event is acknowledged and ignored, and an event whose
 * processing fails is kept with its reason (never dropped). No token from the event is stored.
 *
 * Rows are added by group commit: the events that arrive together are inserted by one statement
 * (one transaction, one fsync), and each caller is answered only once the commit holding its own
 * row is done. On SQLite the connection keeps `synchronous=FULL` (SQLite's default, kept by
 * `@effect/sql-sqlite-node`): in WAL mode `NORMAL` would let a power loss undo the last commits,
 * and the portal never sends an event twice.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { GroupCommit } from "@linecast/delivery"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export interface InboxEvent {
  /** The dedupe key: portal, event, record, `ts` and handler. */
  readonly id: string
  readonly portal: string
  readonly event: string
  readonly entityId: string
  readonly ts: number
  readonly source: "online" | "offline"
  readonly state: "received" | "processed" | "dead"
  readonly attempts: number
  readonly error: string | undefined
  readonly receivedAt: number
  /** A `received` event is not tried again before this time (epoch ms; 0 for a new event). */
  readonly retryAt: number
}

/**
 * An event as the listener hands it to the inbox: `received` (to be processed, the default), or
 * `processed` when no rule asks for it (kept for its dedupe key, never read by the worker).
 *
 * @since 0.1.0
 * @category models
 */
export type NewInboxEvent = Omit<InboxEvent, "state" | "attempts" | "error" | "retryAt"> & {
  readonly state?: "received" | "processed" | undefined
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InboxStorageError extends Schema.TaggedError<InboxStorageError>()("InboxStorageError", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventInbox extends Context.Tag("@linecast/crm-webhook/EventInbox")<
  EventInbox,
  {
    /** Stores an event, answering once its row is committed; false when its dedupe key was seen before. */
    readonly add: (event: NewInboxEvent) => Effect.Effect<boolean, InboxStorageError>
    /**
     * `add` for a plain node:http handler, with no Effect per request: `done` is called once, after
     * the commit holding the row.
     */
    readonly unsafeAdd: (event: NewInboxEvent, done: (exit: Exit.Exit<boolean, InboxStorageError>) => void) => void
    /** Completes when events were added since it last completed (for one waiting worker). */
    readonly added: Effect.Effect<void>
    /** Events waiting to be processed and due (their `retryAt` passed), oldest first. */
    readonly pending: (limit: number) => Effect.Effect<ReadonlyArray<InboxEvent>, InboxStorageError>
    readonly settle: (
      id: string,
      outcome: {
        readonly state: InboxEvent["state"]
        readonly error?: string | undefined
        readonly attempts: number
        /** For an event left `received`: when to try it again (epoch ms). */
        readonly retryAt?: number | undefined
      }
    ) => Effect.Effect<void, InboxStorageError>
    /** Settles as `processed`, in one statement, events that needed no work (one more attempt each). */
    readonly markProcessed: (ids: ReadonlyArray<string>) => Effect.Effect<void, InboxStorageError>
    readonly list: (state?: InboxEvent["state"]) => Effect.Effect<ReadonlyArray<InboxEvent>, InboxStorageError>
    /** Whether the database answers (for `/readyz`). */
    readonly ping: Effect.Effect<void, InboxStorageError>
  }
>() {}

interface Row {
  readonly id: string
  readonly portal: string
  readonly event: string
  readonly entity_id: string
  readonly ts: number | string
  readonly source: string
  readonly state: string
  readonly attempts: number | string
  readonly error: string | null
  readonly received_at: number | string
  readonly retry_at: number | string
}

const fromRow = (row: Row): InboxEvent => ({
  id: row.id,
  portal: row.portal,
  event: row.event,
  entityId: row.entity_id,
  ts: Number(row.ts),
  source: row.source === "offline" ? "offline" : "online",
  state: row.state as InboxEvent["state"],
  attempts: Number(row.attempts),
  error: row.error ?? undefined,
  receivedAt: Number(row.received_at),
  retryAt: Number(row.retry_at)
})

// 256 rows of 8 values: well under SQLite's and PostgreSQL's limits on statement parameters.
const maxBatch = 256

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const failed = (operation: string) => (error: { readonly message: string }) =>
    new InboxStorageError({ operation, message: error.message })
  yield* sql`CREATE TABLE IF NOT EXISTS linecast_event_inbox (
    id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    event TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    received_at BIGINT NOT NULL,
    retry_at BIGINT NOT NULL DEFAULT 0
  )`.pipe(Effect.mapError(failed("migrate")))
  // Inboxes made before retries had a time: add the column (SQLite has no ADD COLUMN IF NOT EXISTS).
  const columns = yield* sql
    .onDialectOrElse({
      pg: () => sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
        WHERE table_name = 'linecast_event_inbox' AND table_schema = current_schema()`,
      orElse: () => sql<{ name: string }>`SELECT name FROM pragma_table_info('linecast_event_inbox')`
    })
    .pipe(Effect.mapError(failed("migrate")))
  if (!columns.some((column) => column.name === "retry_at")) {
    yield* sql`ALTER TABLE linecast_event_inbox ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0`.pipe(
      Effect.mapError(failed("migrate"))
    )
  }
  yield* sql`CREATE INDEX IF NOT EXISTS linecast_event_inbox_state ON linecast_event_inbox (state, received_at)`.pipe(
    Effect.mapError(failed("migrate"))
  )

  // One slot: many additions before the worker looks make one signal.
  const signal = yield* Queue.sliding<void>(1)
  const runtime = yield* Effect.runtime<never>()
  const runSyncExit = Runtime.runSyncExit(runtime)
  // A commit runs on the caller's stack when it can (SQLite answers synchronously), so that its
  // requests are answered in the same turn of the loop; when it must wait (a transaction of
  // delivery's holds the connection), its fiber goes on in the background and calls back.
  const run = <A, E>(effect: Effect.Effect<A, E>, onExit: (exit: Exit.Exit<A, E>) => void) => {
    const exit = runSyncExit(effect)
    if (Exit.isFailure(exit) && Cause.isDieType(exit.cause) && Runtime.isAsyncFiberException(exit.cause.defect)) {
      exit.cause.defect.fiber.addObserver(onExit as (exit: Exit.Exit<unknown, unknown>) => void)
    } else onExit(exit)
  }

  // The insert's text for each batch size, made once: `sql.insert` would rebuild a statement of
  // hundreds of parameters for every commit, which costs more than SQLite's own work.
  const placeholder = sql.onDialectOrElse({ pg: () => (n: number) => `$${n}`, orElse: () => () => "?" })
  const insertText = new Map<number, string>()
  const insertTextFor = (size: number) => {
    let text = insertText.get(size)
    if (text === undefined) {
      const values = Array.from(
        { length: size },
        (_, row) => `(${Array.from({ length: 8 }, (_, column) => placeholder(row * 8 + column + 1)).join(", ")})`
      )
      text = `INSERT INTO linecast_event_inbox (id, portal, event, entity_id, ts, source, state, received_at)
        VALUES ${values.join(", ")} ON CONFLICT (id) DO NOTHING RETURNING id`
      insertText.set(size, text)
    }
    return text
  }

  /** Inserts a batch in one statement; true for each event stored now, false for a repeat. */
  const insert = (events: ReadonlyArray<NewInboxEvent>) => {
    // A repeat within the batch is a duplicate of its first occurrence.
    const first = new Map<string, number>()
    const params: Array<string | number> = []
    events.forEach((event, index) => {
      if (first.has(event.id)) return
      first.set(event.id, index)
      params.push(
        event.id,
        event.portal,
        event.event,
        event.entityId,
        event.ts,
        event.source,
        event.state ?? "received",
        event.receivedAt
      )
    })
    return sql.unsafe<{ id: string }>(insertTextFor(first.size), params).pipe(
      Effect.map((inserted) => {
        const stored = new Set(inserted.map((row) => row.id))
        const isNew = (event: NewInboxEvent, index: number) => first.get(event.id) === index && stored.has(event.id)
        if (events.some((event, index) => event.state !== "processed" && isNew(event, index))) {
          signal.unsafeOffer(undefined)
        }
        return events.map(isNew)
      }),
      // A defect in the driver is a storage failure too: the caller answers 503, nothing is acknowledged.
      Effect.catchAllCause((cause) =>
        Effect.fail(
          Cause.isFailType(cause) ? failed("add")(cause.error) : failed("add")({ message: String(Cause.squash(cause)) })
        )
      )
    )
  }

  const commits = GroupCommit.make<NewInboxEvent, boolean, InboxStorageError, never>({
    write: insert,
    run,
    maxBatch,
    gatherMs: 2
  })

  return EventInbox.of({
    add: (event) => Effect.async<boolean, InboxStorageError>((resume) => commits.submit(event, (exit) => resume(exit))),
    unsafeAdd: commits.submit,
    added: Queue.take(signal),
    pending: (limit) =>
      Effect.flatMap(
        Effect.clockWith((clock) => clock.currentTimeMillis),
        (now) => sql<Row>`SELECT * FROM linecast_event_inbox WHERE state = 'received' AND retry_at <= ${now}
          ORDER BY received_at, id LIMIT ${limit}`
      ).pipe(
        Effect.map((rows) => rows.map(fromRow)),
        Effect.mapError(failed("pending"))
      ),
    settle: (id, outcome) =>
      sql`UPDATE linecast_event_inbox SET state = ${outcome.state}, error = ${outcome.error ?? null},
        attempts = ${outcome.attempts}, retry_at = ${outcome.retryAt ?? 0} WHERE id = ${id}`.pipe(
        Effect.asVoid,
        Effect.mapError(failed("settle"))
      ),
    markProcessed: (ids) =>
      ids.length === 0
        ? Effect.void
        : sql`UPDATE linecast_event_inbox SET state = 'processed', attempts = attempts + 1
            WHERE ${sql.in("id", ids)}`.pipe(Effect.asVoid, Effect.mapError(failed("settle"))),
    list: (state) =>
      (state === undefined
        ? sql<Row>`SELECT * FROM linecast_event_inbox ORDER BY received_at, id`
        : sql<Row>`SELECT * FROM linecast_event_inbox WHERE state = ${state} ORDER BY received_at, id`
      ).pipe(
        Effect.map((rows) => rows.map(fromRow)),
        Effect.mapError(failed("list"))
      ),
    ping: sql`SELECT 1`.pipe(Effect.asVoid, Effect.mapError(failed("ping")))
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(EventInbox, make)
