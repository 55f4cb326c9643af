/**
 * Events are persisted before they are acknowledged: one row per event in delivery's database,
 * under a dedupe key, so that a replayed event is acknowledged and ignored, and an event whose
 * processing fails is kept with its reason (never dropped). No token from the event is stored.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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
    /** Stores an event; false when its dedupe key was seen before. */
    readonly add: (event: Omit<InboxEvent, "state" | "attempts" | "error">) => Effect.Effect<boolean, InboxStorageError>
    /** Events waiting to be processed, oldest first. */
    readonly pending: (limit: number) => Effect.Effect<ReadonlyArray<InboxEvent>, InboxStorageError>
    readonly settle: (
      id: string,
      outcome: { readonly state: InboxEvent["state"]; readonly error?: string | undefined; readonly attempts: number }
    ) => Effect.Effect<void, InboxStorageError>
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
  receivedAt: Number(row.received_at)
})

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
    received_at BIGINT NOT NULL
  )`.pipe(Effect.mapError(failed("migrate")))
  yield* sql`CREATE INDEX IF NOT EXISTS linecast_event_inbox_state ON linecast_event_inbox (state, received_at)`.pipe(
    Effect.mapError(failed("migrate"))
  )
  return EventInbox.of({
    add: (event) =>
      sql<{
        id: string
      }>`INSERT INTO linecast_event_inbox (id, portal, event, entity_id, ts, source, state, received_at)
        VALUES (${event.id}, ${event.portal}, ${event.event}, ${event.entityId}, ${event.ts}, ${event.source}, 'received',
          ${event.receivedAt})
        ON CONFLICT (id) DO NOTHING RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failed("add"))
      ),
    pending: (limit) =>
      sql<Row>`SELECT * FROM linecast_event_inbox WHERE state = 'received' ORDER BY received_at, id LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map(fromRow)),
        Effect.mapError(failed("pending"))
      ),
    settle: (id, outcome) =>
      sql`UPDATE linecast_event_inbox SET state = ${outcome.state}, error = ${outcome.error ?? null},
        attempts = ${outcome.attempts} WHERE id = ${id}`.pipe(Effect.asVoid, Effect.mapError(failed("settle"))),
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
