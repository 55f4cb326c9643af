/**
 * The outbox's own tables, beside the cluster engine's: one row per message (queryable by state,
 * recipient and idempotency key) and the weekly ledger. Both dialects, SQLite and PostgreSQL,
 * through `@effect/sql`.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { OutboxStorageError } from "./DeliveryError.js"
import { EntryChanges } from "./EntryChanges.js"
import * as EntryBody from "./internal/entryBody.js"
import { createTables, storageError, transaction } from "./internal/tables.js"
import type { DeliveryState, HistoryRecord, OutboxEntry, Recipient } from "./OutboxEntry.js"
import {
  HistoryRecord as HistoryRecordSchema,
  historyRecordOf,
  OutboxEntry as OutboxEntrySchema
} from "./OutboxEntry.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  OutboxStorageError
} from "./DeliveryError.js"

/**
 * The entry was saved by someone else since it was read: read it again and decide again.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutboxConflictError extends Schema.TaggedError<OutboxConflictError>()("OutboxConflictError", {
  id: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface OutboxQuery {
  readonly state?: DeliveryState | ReadonlyArray<DeliveryState> | undefined
  readonly recipient?: Recipient | undefined
  readonly portal?: string | undefined
  readonly idempotencyKey?: string | undefined
  /** Only these entries. */
  readonly ids?: ReadonlyArray<string> | undefined
  /** Only this open line (on any portal), or only this user (on any line). */
  readonly lineCode?: string | undefined
  readonly userId?: number | undefined
  /** Only entries last saved before this (Unix ms): work that stopped moving. */
  readonly updatedBefore?: number | undefined
  /** `list` answers oldest first unless this is set. */
  readonly newestFirst?: boolean | undefined
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class OutboxStore extends Context.Tag("@linecast/delivery/OutboxStore")<OutboxStore, OutboxStore.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace OutboxStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Stores a new entry, or returns the one that already holds its idempotency key. */
    readonly insert: (
      entry: OutboxEntry
    ) => Effect.Effect<{ readonly entry: OutboxEntry; readonly created: boolean }, OutboxStorageError>
    /**
     * `insert` for many entries, in a few statements: answers, in order, the entry that holds each
     * one's idempotency key and whether it is the one given. Entries that share a key resolve to the
     * first of them (or to the one already stored). Run it in a transaction for all or nothing.
     */
    readonly insertMany: (
      entries: ReadonlyArray<OutboxEntry>
    ) => Effect.Effect<ReadonlyArray<{ readonly entry: OutboxEntry; readonly created: boolean }>, OutboxStorageError>
    readonly get: (id: string) => Effect.Effect<Option.Option<OutboxEntry>, OutboxStorageError>
    /** The entries holding these idempotency keys, by key (a key no entry holds is not in the map). */
    readonly byKeys: (
      keys: ReadonlyArray<string>
    ) => Effect.Effect<ReadonlyMap<string, OutboxEntry>, OutboxStorageError>
    /**
     * Saves an entry read at `entry.version`; answers the saved entry (its version bumped), or
     * fails with `OutboxConflictError` when someone saved it since. Its id goes to `EntryChanges` once saved.
     */
    readonly save: (entry: OutboxEntry) => Effect.Effect<OutboxEntry, OutboxStorageError | OutboxConflictError>
    /** Entries matching the query, oldest first (newest first with `newestFirst`). */
    readonly list: (query: OutboxQuery) => Effect.Effect<ReadonlyArray<OutboxEntry>, OutboxStorageError>
    readonly count: (query: OutboxQuery) => Effect.Effect<number, OutboxStorageError>
    readonly purge: (query: OutboxQuery) => Effect.Effect<number, OutboxStorageError>
    /** What the entry went through, one record per save, oldest first (empty for an unknown id). */
    readonly history: (id: string) => Effect.Effect<ReadonlyArray<HistoryRecord>, OutboxStorageError>
  }
}

const tables = [
  `CREATE TABLE IF NOT EXISTS linecast_outbox (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    portal TEXT NOT NULL,
    line_code TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS linecast_outbox_state ON linecast_outbox (state, created_at)",
  "CREATE INDEX IF NOT EXISTS linecast_outbox_recipient ON linecast_outbox (portal, line_code, user_id, state)",
  `CREATE TABLE IF NOT EXISTS linecast_ledger (
    portal TEXT NOT NULL,
    line_code TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    last_sent_at BIGINT,
    blocked_until BIGINT,
    claimed_by TEXT,
    PRIMARY KEY (portal, line_code, user_id)
  )`,
  // The intake journal (see `internal/journal.ts`): batches of new entries waiting to be moved in, oldest first.
  // Only SQLite owners write it; it is made on both dialects with the other tables, and stays empty on PostgreSQL.
  `CREATE TABLE IF NOT EXISTS linecast_outbox_journal (
    id BIGINT PRIMARY KEY,
    keys TEXT NOT NULL,
    entries TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS linecast_outbox_history (
    entry_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (entry_id, version)
  )`
]

/** An arbitrary constant that names Linecast's migration lock in PostgreSQL. */
const migrationLock = 7_245_109_331

const decode = Schema.decodeUnknownEither(Schema.parseJson(OutboxEntrySchema))
const encodeHistory = Schema.encodeSync(Schema.parseJson(HistoryRecordSchema))
const decodeHistory = Schema.decodeUnknownEither(Schema.parseJson(HistoryRecordSchema))

/**
 * Rows per statement: far below SQLite's (32,766) and PostgreSQL's (65,535) limits on bound
 * parameters, at 9 a row.
 */
const rowsPerStatement = 200

const chunksOf = <A>(items: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> => {
  if (items.length <= rowsPerStatement) return items.length === 0 ? [] : [items]
  const chunks: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += rowsPerStatement) {
    chunks.push(items.slice(start, start + rowsPerStatement))
  }
  return chunks
}

/**
 * An entry as `enqueue` makes it: queued, untouched, nothing recorded on it. Its first history record would say only
 * that, and when: it is not written (a statement and an encode a message, and a row a message less), `history` makes
 * it from the entry's row.
 */
const isNew = (entry: OutboxEntry) =>
  entry.version === 0 &&
  entry.state === "queued" &&
  entry.attempts === 0 &&
  entry.generation === 0 &&
  entry.updatedAt === entry.createdAt &&
  entry.nextAllowedAt === undefined &&
  entry.settlement === undefined &&
  entry.mergedInto === undefined &&
  entry.receipt === undefined &&
  entry.lastError === undefined

/** The first record of a new entry (what `historyRecordOf` gives for it). */
const creationRecord = (createdAt: number): HistoryRecord => ({
  version: 0,
  state: "queued",
  attempts: 0,
  generation: 0,
  at: createdAt
})

const byKey = (a: OutboxEntry, b: OutboxEntry) =>
  a.idempotencyKey < b.idempotencyKey ? -1 : a.idempotencyKey > b.idempotencyKey ? 1 : 0

/**
 * Creates the tables when missing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const migrate: Effect.Effect<void, OutboxStorageError, SqlClient.SqlClient> = createTables(migrationLock, tables)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<OutboxStore.Service, OutboxStorageError, SqlClient.SqlClient | EntryChanges> =
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* EntryChanges
    yield* migrate

    const where = (query: OutboxQuery) => {
      const conditions = []
      const states = query.state === undefined ? [] : typeof query.state === "string" ? [query.state] : query.state
      if (states.length > 0) conditions.push(sql.in("state", states))
      if (query.portal !== undefined) conditions.push(sql`portal = ${query.portal}`)
      if (query.recipient !== undefined) {
        conditions.push(
          sql`portal = ${query.recipient.portal} AND line_code = ${query.recipient.lineCode} AND user_id = ${query.recipient.userId}`
        )
      }
      if (query.idempotencyKey !== undefined) conditions.push(sql`idempotency_key = ${query.idempotencyKey}`)
      // An empty id list matches nothing, not everything.
      if (query.ids !== undefined) conditions.push(query.ids.length === 0 ? sql`1 = 0` : sql.in("id", query.ids))
      if (query.lineCode !== undefined) conditions.push(sql`line_code = ${query.lineCode}`)
      if (query.userId !== undefined) conditions.push(sql`user_id = ${query.userId}`)
      if (query.updatedBefore !== undefined) conditions.push(sql`updated_at < ${query.updatedBefore}`)
      return conditions.length === 0 ? sql`1 = 1` : sql.and(conditions)
    }

    const rows = (operation: string, found: ReadonlyArray<{ readonly body: string }>) =>
      Effect.forEach(found, (row) => decode(row.body)).pipe(Effect.mapError(storageError(operation)))

    const get = (id: string) =>
      sql<{ body: string }>`SELECT body FROM linecast_outbox WHERE id = ${id}`.pipe(
        Effect.mapError(storageError("get")),
        Effect.flatMap((found) => rows("get", found)),
        Effect.map((entries) => Option.fromNullable(entries[0]))
      )

    const byKeys = (keys: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const found = new Map<string, OutboxEntry>()
        for (const chunk of chunksOf(keys)) {
          const rows = yield* sql<{
            idempotency_key: string
            body: string
          }>`SELECT idempotency_key, body FROM linecast_outbox WHERE ${sql.in("idempotency_key", chunk)}`
          for (const row of rows) found.set(row.idempotency_key, yield* decode(row.body))
        }
        return found as ReadonlyMap<string, OutboxEntry>
      }).pipe(Effect.mapError(storageError("get")))

    const historyRow = (entry: OutboxEntry) => ({
      entry_id: entry.id,
      version: entry.version,
      state: entry.state,
      body: encodeHistory(historyRecordOf(entry)),
      recorded_at: entry.updatedAt
    })

    const record = (entry: OutboxEntry) =>
      sql`INSERT INTO linecast_outbox_history ${sql.insert(historyRow(entry))} ON CONFLICT (entry_id, version) DO NOTHING`

    const insertMany = (entries: ReadonlyArray<OutboxEntry>) =>
      Effect.gen(function* () {
        const first = new Map<string, OutboxEntry>()
        for (const entry of entries) if (!first.has(entry.idempotencyKey)) first.set(entry.idempotencyKey, entry)
        // In key order: concurrent batches on PostgreSQL then take their row locks in one order, never in a cycle.
        const fresh = [...first.values()].sort(byKey)
        const holders = new Map<string, { readonly entry: OutboxEntry; readonly created: boolean }>()
        for (const chunk of chunksOf(fresh)) {
          const rows = sql.insert(
            chunk.map((entry) => ({
              id: entry.id,
              idempotency_key: entry.idempotencyKey,
              portal: entry.portal,
              line_code: entry.message.lineCode,
              user_id: entry.message.userId,
              state: entry.state,
              body: EntryBody.encode(entry),
              created_at: entry.createdAt,
              updated_at: entry.updatedAt
            }))
          )
          const inserted = yield* sql.onDialectOrElse({
            // SQLite: the count of rows stored says whether all of them were, as is usual; only a chunk with a
            // key already taken is read back below (a RETURNING costs SQLite more than the insert itself).
            sqlite: () =>
              Effect.map(
                sql`INSERT INTO linecast_outbox ${rows} ON CONFLICT (idempotency_key) DO NOTHING`.raw,
                (result) => ((result as { readonly changes?: number }).changes === chunk.length ? chunk : [])
              ),
            orElse: () =>
              Effect.map(
                sql<{ idempotency_key: string }>`INSERT INTO linecast_outbox ${rows}
                  ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
                (created) => created.map((row) => first.get(row.idempotency_key)!)
              )
          })
          // Ours were stored as given: no need to read them back.
          for (const entry of inserted) holders.set(entry.idempotencyKey, { entry, created: true })
        }
        // The rest: a key already taken (a message sent again), whose entry is the answer; on SQLite, also
        // ours in a chunk that had such a key (the row holds our id).
        const unsure = fresh.filter((entry) => !holders.has(entry.idempotencyKey))
        if (unsure.length > 0) {
          for (const [key, found] of yield* byKeys(unsure.map((entry) => entry.idempotencyKey))) {
            const ours = first.get(key)!
            holders.set(key, found.id === ours.id ? { entry: ours, created: true } : { entry: found, created: false })
          }
        }
        // A new entry's first record is implied by its row (see `history`): only an entry stored otherwise has one written.
        const created = fresh.filter((entry) => holders.get(entry.idempotencyKey)?.created === true && !isNew(entry))
        for (const chunk of chunksOf(created)) {
          yield* sql`INSERT INTO linecast_outbox_history ${sql.insert(chunk.map(historyRow))}
            ON CONFLICT (entry_id, version) DO NOTHING`
        }
        const answered = new Set<string>()
        const results: Array<{ readonly entry: OutboxEntry; readonly created: boolean }> = []
        for (const entry of entries) {
          const holder = holders.get(entry.idempotencyKey)
          if (holder === undefined) {
            return yield* new OutboxStorageError({ operation: "insert", message: "the row was not stored" })
          }
          // The first entry of a key is the one created; the others find it.
          results.push(
            answered.has(entry.idempotencyKey) || entry !== first.get(entry.idempotencyKey)
              ? { entry: holder.entry, created: false }
              : holder
          )
          answered.add(entry.idempotencyKey)
        }
        return results
      }).pipe(Effect.mapError((error) => (error._tag === "OutboxStorageError" ? error : storageError("insert")(error))))

    return OutboxStore.of({
      insert: (entry) =>
        Effect.flatMap(insertMany([entry]), (stored) =>
          stored[0] === undefined
            ? Effect.fail(new OutboxStorageError({ operation: "insert", message: "the row was not stored" }))
            : Effect.succeed(stored[0])
        ),
      insertMany,
      get,
      byKeys,
      save: (entry) =>
        Effect.gen(function* () {
          const saved = { ...entry, version: entry.version + 1 }
          // The history row goes in the same transaction: a save is never without its record.
          const changed = yield* transaction(
            sql,
            "save",
            Effect.gen(function* () {
              const updated = yield* sql<{ id: string }>`UPDATE linecast_outbox
            SET state = ${saved.state}, body = ${EntryBody.encode(saved)}, updated_at = ${saved.updatedAt}, version = ${saved.version}
            WHERE id = ${entry.id} AND version = ${entry.version} RETURNING id`
              if (updated.length > 0) yield* record(saved)
              return updated.length
            })
          )
          if (changed === 0) return yield* new OutboxConflictError({ id: entry.id })
          yield* changes.publish([entry.id])
          return saved
        }),
      list: (query) =>
        sql<{
          body: string
        }>`SELECT body FROM linecast_outbox WHERE ${where(query)} ORDER BY ${query.newestFirst === true ? sql.literal("created_at DESC, id DESC") : sql.literal("created_at, id")}
        LIMIT ${query.limit ?? 100} OFFSET ${query.offset ?? 0}`.pipe(
          Effect.mapError(storageError("list")),
          Effect.flatMap((found) => rows("list", found))
        ),
      count: (query) =>
        sql<{ total: number | string }>`SELECT COUNT(*) AS total FROM linecast_outbox WHERE ${where(query)}`.pipe(
          Effect.map((found) => Number(found[0]?.total ?? 0)),
          Effect.mapError(storageError("count"))
        ),
      purge: (query) =>
        Effect.gen(function* () {
          const total = Number(
            (yield* sql<{
              total: number | string
            }>`SELECT COUNT(*) AS total FROM linecast_outbox WHERE ${where(query)}`)[0]?.total ?? 0
          )
          yield* sql`DELETE FROM linecast_outbox_history WHERE entry_id IN (SELECT id FROM linecast_outbox WHERE ${where(query)})`
          yield* sql`DELETE FROM linecast_outbox WHERE ${where(query)}`
          return total
        }).pipe(Effect.mapError(storageError("purge"))),
      history: (id) =>
        Effect.gen(function* () {
          const found = yield* sql<{
            version: number | string
            body: string
          }>`SELECT version, body FROM linecast_outbox_history WHERE entry_id = ${id} ORDER BY version`
          const records = yield* Effect.forEach(found, (row) => decodeHistory(row.body))
          if (found.length > 0 && Number(found[0]!.version) === 0) return records
          const row = yield* sql<{
            created_at: number | string
          }>`SELECT created_at FROM linecast_outbox WHERE id = ${id}`
          return row[0] === undefined ? records : [creationRecord(Number(row[0].created_at)), ...records]
        }).pipe(Effect.mapError(storageError("history")))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<OutboxStore, OutboxStorageError, SqlClient.SqlClient | EntryChanges> = Layer.effect(
  OutboxStore,
  make
)
