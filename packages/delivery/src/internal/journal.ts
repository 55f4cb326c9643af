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
import { admissionRowOf } from "../Admission.js"
import { OutboxStorageError } from "../DeliveryError.js"
import type { OutboxEntry } from "../OutboxEntry.js"
import { OutboxEntry as OutboxEntrySchema } from "../OutboxEntry.js"
import * as EntryBody from "./entryBody.js"
import { storageError, transaction } from "./tables.js"

/** Rows moved by one transaction: a round's worth under load, while the owner waits for none of it. */
const rowsAtOnce = 32

/**
 * Rows waiting beyond which the owner moves them itself after its batch: every batch reads the journal's keys,
 * and a runner that is stopped or far behind must not make that read grow without end.
 */
export const backlogRows = 2 * rowsAtOnce

const decodeEntry = Schema.decodeUnknownEither(Schema.parseJson(OutboxEntrySchema))

interface Row {
  readonly id: number | string
  readonly keys: string
  readonly entries: string
}

/**
 * An entry as a journal row holds it: its outbox row's columns, then its admission row's (see `move`, which reads
 * them in SQL: moving a batch is three statements, with no entry decoded or bound one by one).
 */
type Stored = readonly [
  id: string,
  idempotencyKey: string,
  portal: string,
  lineCode: string,
  userId: number,
  state: string,
  body: string,
  createdAt: number,
  updatedAt: number,
  generation: number,
  recipient: string,
  readyAt: number
]

const storedOf = (entry: OutboxEntry): Stored => {
  const start = admissionRowOf(entry)
  return [
    entry.id,
    entry.idempotencyKey,
    entry.portal,
    entry.message.lineCode,
    entry.message.userId,
    entry.state,
    EntryBody.encode(entry),
    entry.createdAt,
    entry.updatedAt,
    start.generation,
    start.recipient,
    start.readyAt
  ]
}

/** A column's JSON: a row this code did not write (another version, a damaged file) is a typed failure, not a defect. */
const parsed = <A>(text: string) =>
  Effect.try({
    try: () => JSON.parse(text) as A,
    catch: () =>
      new OutboxStorageError({ operation: "journal", message: "a row of the intake journal is not readable" })
  })

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
          ${JSON.stringify(entries.map(storedOf))}
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
    for (const row of rows) {
      if ((yield* parsed<ReadonlyArray<string>>(row.keys)).some((key) => keys.has(key))) holding.push(row)
    }
    if (holding.length === 0) return { found, rows: rows.length }
    const full = yield* sql<Row>`SELECT id, keys, entries FROM linecast_outbox_journal
      WHERE ${sql.in(
        "id",
        holding.map((row) => row.id)
      )} ORDER BY id`
    for (const row of full) {
      for (const stored of yield* parsed<ReadonlyArray<Stored>>(row.entries)) {
        const key = stored[1]
        if (keys.has(key) && !found.has(key)) found.set(key, yield* decodeEntry(stored[6]))
      }
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
 * Moves what waits into the outbox and admission, oldest first, in SQL: the rows' entries are stored (a key already
 * taken is not stored again, as `enqueueMany` would not), the ones stored get their admission rows, and the rows go,
 * in one transaction. Answers how many entries were stored. Like entries stored directly, they are not published to
 * `EntryChanges`: nothing was saved on them. (The columns are the outbox's and admission's own: see `OutboxStore`
 * and `Admission`; new entries have no history row, see `OutboxStore.history`.)
 */
export const move: Effect.Effect<number, OutboxStorageError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  let moved = 0
  while (!(yield* isEmpty)) {
    moved += yield* transaction(
      sql,
      "journal",
      Effect.gen(function* () {
        const last = (yield* sql<{ id: number | string }>`SELECT id FROM linecast_outbox_journal
          ORDER BY id LIMIT 1 OFFSET ${rowsAtOnce - 1}`)[0]?.id
        const upTo = last ?? Number.MAX_SAFE_INTEGER
        const stored = yield* sql`INSERT INTO linecast_outbox
            (id, idempotency_key, portal, line_code, user_id, state, body, created_at, updated_at)
          SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5,
            e.value ->> 6, e.value ->> 7, e.value ->> 8
          FROM linecast_outbox_journal AS j, json_each(j.entries) AS e
          WHERE j.id <= ${upTo} ORDER BY j.id, e.key
          ON CONFLICT (idempotency_key) DO NOTHING`.raw
        // An entry whose key was taken was not stored under its own id: only those stored now are admitted.
        yield* sql`INSERT INTO linecast_admission (entry_id, generation, portal, recipient, ready_at)
          SELECT e.value ->> 0, e.value ->> 9, e.value ->> 2, e.value ->> 10, e.value ->> 11
          FROM linecast_outbox_journal AS j, json_each(j.entries) AS e
          WHERE j.id <= ${upTo} AND EXISTS (SELECT 1 FROM linecast_outbox AS o WHERE o.id = e.value ->> 0)
          ON CONFLICT (entry_id, generation) DO NOTHING`
        yield* sql`DELETE FROM linecast_outbox_journal WHERE id <= ${upTo}`
        return (stored as { readonly changes?: number }).changes ?? 0
      })
    )
  }
  return moved
})
