/**
 * The outbox's intake journal, for an owner whose runner is another thread of the process
 * (`DeliveryWorker` on SQLite): the new entries of one `enqueueMany` are stored as one row, their keys
 * beside them, and the runner moves the rows into the outbox and admission at its next round, oldest
 * first, each in one transaction. Stored directly, an entry dirtied about three pages (its row, and the
 * recipient-keyed indexes of the outbox and of admission), all written to the log at the owner's commit:
 * with the relay's batches that was most of the relay's thread beyond the bare bot's work (6 December,
 * ninth session). A journal row is a page or a few. The journal is as durable as the outbox: a row
 * committed is an accepted batch, whichever thread moves it and whenever.
 *
 * Reads on the owner's side (see `Outbox`) move what waits first when it could change their answer, so a
 * stored entry is never missing from a read; and `enqueueMany` finds a key waiting here as it finds one
 * in the outbox.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Admission, admissionRowOf } from "../Admission.js"
import { OutboxStorageError } from "../DeliveryError.js"
import type { OutboxEntry } from "../OutboxEntry.js"
import { OutboxEntry as OutboxEntrySchema } from "../OutboxEntry.js"
import { OutboxStore } from "../OutboxStore.js"
import * as EntryBody from "./entryBody.js"
import { storageError, transaction } from "./tables.js"

/** Rows moved by one transaction: a round's worth under load, while the owner waits for none of it. */
const rowsAtOnce = 32

/**
 * Rows waiting beyond which the owner moves them itself after its batch: every batch reads the journal's keys,
 * and a runner that is stopped or far behind must not make that read grow without end.
 */
export const backlogRows = 2 * rowsAtOnce

const decodeEntry = Schema.decodeUnknown(Schema.parseJson(OutboxEntrySchema))

interface Row {
  readonly id: number | string
  readonly keys: string
  readonly entries: string
}

/** A column's JSON: a row this code did not write (another version, a damaged file) is a typed failure, not a defect. */
const parsed = (text: string) =>
  Effect.try({
    try: () => JSON.parse(text) as ReadonlyArray<string>,
    catch: () =>
      new OutboxStorageError({ operation: "journal", message: "a row of the intake journal is not readable" })
  })

const entriesOf = (rows: ReadonlyArray<Row>) =>
  Effect.flatMap(
    Effect.forEach(rows, (row) => parsed(row.entries)),
    (bodies) =>
      Effect.forEach(bodies.flat(), (body) => decodeEntry(body)).pipe(Effect.mapError(storageError("journal")))
  )

/**
 * Stores new entries as one row (run it in the caller's transaction). Ids are the next of those waiting:
 * the rows are moved in that order.
 */
export const append = (entries: ReadonlyArray<OutboxEntry>) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql`INSERT INTO linecast_outbox_journal (id, keys, entries)
        SELECT COALESCE(MAX(id), 0) + 1, ${JSON.stringify(entries.map((entry) => entry.idempotencyKey))},
          ${JSON.stringify(entries.map(EntryBody.encode))}
        FROM linecast_outbox_journal`
  )

/**
 * The entries waiting in the journal under any of these keys, by key (the first of a key, as the outbox keeps it),
 * and how many rows wait.
 */
export const waiting = (keys: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const found = new Map<string, OutboxEntry>()
    const rows = yield* sql<Pick<Row, "id" | "keys">>`SELECT id, keys FROM linecast_outbox_journal ORDER BY id`
    const holding: Array<Pick<Row, "id" | "keys">> = []
    for (const row of rows) if ((yield* parsed(row.keys)).some((key) => keys.has(key))) holding.push(row)
    if (holding.length === 0) return { found, rows: rows.length }
    const full = yield* sql<Row>`SELECT id, keys, entries FROM linecast_outbox_journal
      WHERE ${sql.in(
        "id",
        holding.map((row) => row.id)
      )} ORDER BY id`
    for (const entry of yield* entriesOf(full)) {
      if (keys.has(entry.idempotencyKey) && !found.has(entry.idempotencyKey)) found.set(entry.idempotencyKey, entry)
    }
    return { found, rows: rows.length }
  }).pipe(Effect.mapError((error) => (error._tag === "OutboxStorageError" ? error : storageError("journal")(error))))

/** Whether anything waits in the journal (a read, no lock). */
export const isEmpty = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ id: number | string }>`SELECT id FROM linecast_outbox_journal LIMIT 1`.pipe(
    Effect.map((rows) => rows.length === 0),
    Effect.mapError(storageError("journal"))
  )
)

/**
 * Moves what waits into the outbox and admission, oldest first: a row's entries are stored and admitted (a key
 * already taken is not stored again, as `enqueueMany` would not) and the row goes, in one transaction. Answers how
 * many entries were stored. Like entries stored directly, they are not published to `EntryChanges`: nothing was
 * saved on them.
 */
export const move: Effect.Effect<number, OutboxStorageError, SqlClient.SqlClient | OutboxStore | Admission> =
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* OutboxStore
    const admission = yield* Admission
    let moved = 0
    while (!(yield* isEmpty)) {
      const created = yield* transaction(
        sql,
        "journal",
        Effect.gen(function* () {
          const rows =
            yield* sql<Row>`SELECT id, keys, entries FROM linecast_outbox_journal ORDER BY id LIMIT ${rowsAtOnce}`
          if (rows.length === 0) return []
          const stored = yield* store.insertMany(yield* entriesOf(rows))
          const created = stored.flatMap((one) => (one.created ? [one.entry] : []))
          yield* admission.add(created.map(admissionRowOf))
          yield* sql`DELETE FROM linecast_outbox_journal WHERE id <= ${rows[rows.length - 1]!.id}`
          return created
        })
      )
      moved += created.length
    }
    return moved
  })
