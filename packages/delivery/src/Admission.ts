/**
 * Admission control: which entries' workflows run now. Every queued entry has its workflow, but a
 * workflow in the engine holds memory for as long as it waits for its portal, and a portal takes
 * at most ~100 messages a second. So an entry waits here, as a row, until its portal has room: a
 * dispatcher admits the oldest ready entries of each portal, up to `perPortal` admitted at once and
 * `total` across portals, and starts their workflows. An entry gives its place back when it comes
 * to rest (sent, deferred, dead, ambiguous). A million queued messages cost a million rows, not a
 * million workflows; a portal that is down holds its places and no more.
 *
 * One recipient's entries are admitted one at a time, oldest first: a recipient takes one message
 * at a time anyway (its weekly window is claimed by one entry), and an entry admitted beside
 * another of its recipient's would only wake every second to find the window still held, at the
 * cost of a step each time. So a recipient's messages go out in the order they were accepted, and
 * the portal's places go to recipients that can take a message now.
 *
 * The waiting row is written in the same transaction as the entry, so an accepted entry is never
 * without its start; any runner's dispatcher may admit it (starting a workflow twice is harmless,
 * and the conditional update admits each row once).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { OutboxStorageError } from "./DeliveryError.js"
import { createTables, storageError, transaction, write } from "./internal/tables.js"
import type { OutboxEntry } from "./OutboxEntry.js"

/**
 * An entry's workflow, as admission knows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdmissionKey {
  readonly entryId: string
  readonly generation: number
}

/**
 * A waiting entry, as `add` records it.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdmissionRow extends AdmissionKey {
  readonly portal: string
  /** Who it goes to on its portal: see `recipientKey`. */
  readonly recipient: string
  readonly readyAt: number
}

/**
 * The recipient of an entry as admission knows it (within its portal).
 *
 * @since 0.1.0
 * @category models
 */
export const recipientKey = (lineCode: string, userId: number): string => `${userId}/${lineCode}`

/**
 * The waiting row of an entry to be started: its workflow (generation), portal and recipient, ready
 * once it was last saved or its `notBefore`, whichever is later.
 *
 * @since 0.1.0
 * @category constructors
 */
export const admissionRowOf = (entry: OutboxEntry): AdmissionRow => ({
  entryId: entry.id,
  generation: entry.generation,
  portal: entry.portal,
  recipient: recipientKey(entry.message.lineCode, entry.message.userId),
  readyAt: Math.max(entry.updatedAt, entry.notBefore ?? 0)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface AdmissionLimits {
  /** Workflows of one portal admitted at once. */
  readonly perPortal: number
  /** Workflows admitted at once across all portals. */
  readonly total: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Admission extends Context.Tag("@linecast/delivery/Admission")<Admission, Admission.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace Admission {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * Records entries' workflows as waiting; each ready from `readyAt` (its `notBefore`, or now).
     * `recipient` names who it goes to on its portal (see `recipientKey`).
     */
    readonly add: (rows: ReadonlyArray<AdmissionRow>) => Effect.Effect<void, OutboxStorageError>
    /**
     * Admits the oldest ready waiting entries, fairly across portals, within the limits, and at most
     * one at a time for each recipient.
     */
    readonly admit: (
      limits: AdmissionLimits,
      now: number
    ) => Effect.Effect<ReadonlyArray<AdmissionKey>, OutboxStorageError>
    /** Gives an entry's place back (or drops its waiting row): its workflow rests or is gone. */
    readonly release: (keys: ReadonlyArray<AdmissionKey>) => Effect.Effect<void, OutboxStorageError>
    /** Puts admitted entries back to waiting (their workflow could not be started): the next dispatch retries. */
    readonly requeue: (keys: ReadonlyArray<AdmissionKey>) => Effect.Effect<void, OutboxStorageError>
    /** Drops every row of these entries (purged). */
    readonly forget: (entryIds: ReadonlyArray<string>) => Effect.Effect<void, OutboxStorageError>
    /** Admitted entries not looked at since `before`, oldest first: the stall sweep's work. */
    readonly admittedBefore: (
      before: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<AdmissionKey>, OutboxStorageError>
    /** Marks admitted entries as looked at now. */
    readonly touch: (keys: ReadonlyArray<AdmissionKey>, at: number) => Effect.Effect<void, OutboxStorageError>
    /** How many entries wait and how many are admitted. */
    readonly counts: Effect.Effect<{ readonly waiting: number; readonly admitted: number }, OutboxStorageError>
    /** Tells this runner's dispatcher that an entry was added (`release` and `requeue` tell it a place was freed). */
    readonly wake: Effect.Effect<void>
    /** Waits until the dispatcher is told; answers why (a place freed wins over an entry added). */
    readonly awaitWake: Effect.Effect<WakeReason>
  }
}

/**
 * Why the dispatcher was told to look again: an entry was added, or a place was freed (which can make
 * room for work that waits).
 *
 * @since 0.1.0
 * @category models
 */
export type WakeReason = "added" | "freed"

/** Names the migration lock in PostgreSQL. */
const migrationLock = 7_245_109_333
/** Names the lock that makes admission one at a time in PostgreSQL. */
const admitLock = 7_245_109_340

/**
 * One index serves the order: waiting rows (admitted_at NULL) by portal and age, admitted ones by age;
 * the others find a recipient's admitted entry, and each recipient's oldest waiting one. `recipient` is NULL in rows written before it existed
 * (each such row counts as a recipient of its own).
 */
const tables = [
  `CREATE TABLE IF NOT EXISTS linecast_admission (
    entry_id TEXT NOT NULL,
    generation BIGINT NOT NULL,
    portal TEXT NOT NULL,
    ready_at BIGINT NOT NULL,
    admitted_at BIGINT,
    recipient TEXT,
    PRIMARY KEY (entry_id, generation)
  )`,
  "CREATE INDEX IF NOT EXISTS linecast_admission_order ON linecast_admission (admitted_at, portal, ready_at)",
  // Partial: only admitted rows (a few thousand at most), so a waiting row costs this index nothing.
  `CREATE INDEX IF NOT EXISTS linecast_admission_recipient ON linecast_admission (portal, recipient)
    WHERE admitted_at IS NOT NULL`,
  // Waiting rows by recipient: each recipient's oldest, when the oldest rows overall are all of busy recipients.
  `CREATE INDEX IF NOT EXISTS linecast_admission_waiting ON linecast_admission (portal, recipient, ready_at)
    WHERE admitted_at IS NULL`
]

/** Added since the table was first made: a table from an earlier version gains it at start-up. */
const added = [{ table: "linecast_admission", column: "recipient", type: "TEXT" }] as const

/**
 * Recipients looked at, at most, for each place to fill, when the oldest waiting rows are all of busy
 * recipients (beyond them, in the order of their keys, the rest waits for a later round).
 */
const scanPerPlace = 16

/** Rows per statement: far below every driver's limit on parameters. */
const chunks = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size))

const keyOf = (row: { readonly entry_id: string; readonly generation: number | string }): AdmissionKey => ({
  entryId: row.entry_id,
  generation: Number(row.generation)
})

interface Candidate {
  readonly entry_id: string
  readonly generation: number | string
  readonly recipient: string | null
  readonly ready_at: number | string
}

/** Up to `count` rows in the order given, one a recipient, none of a recipient in `busy`. */
const pick = (rows: ReadonlyArray<Candidate>, busy: ReadonlySet<string | null>, count: number) => {
  const seen = new Set(busy)
  const chosen: Array<AdmissionKey> = []
  for (const row of rows) {
    if (chosen.length >= count) break
    if (row.recipient !== null) {
      if (seen.has(row.recipient)) continue
      seen.add(row.recipient)
    }
    chosen.push(keyOf(row))
  }
  return chosen
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Admission.Service, OutboxStorageError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* createTables(migrationLock, tables, added)
  const signal = yield* Queue.sliding<void>(1)
  // Whether a place was freed since the dispatcher last looked: the signal itself only says that something happened.
  let freed = false
  const tellFreed = Effect.suspend(() => {
    freed = true
    return Queue.offer(signal, undefined)
  })

  // The `IN` lets every database find the rows by the primary key (an `OR` of pairs alone was a scan).
  const keys = (list: ReadonlyArray<AdmissionKey>) =>
    sql.and([
      sql.in(
        "entry_id",
        list.map((key) => key.entryId)
      ),
      sql.or(list.map((key) => sql`(entry_id = ${key.entryId} AND generation = ${key.generation})`))
    ])

  /**
   * The oldest ready waiting rows whose recipients have nothing admitted, one a recipient, up to `count`.
   * First the oldest ready rows, a few more than the places and the recipients already admitted (one index
   * range, whatever the backlog); when those are mostly of admitted recipients (a few recipients with long
   * queues ahead of the others), the oldest ready row of each recipient with waiting rows, one seek each,
   * for a bounded number of recipients. A single query that skipped admitted recipients row by row read
   * the whole backlog every round.
   */
  const choose = (portal: string, count: number, now: number) =>
    Effect.gen(function* () {
      const admitted = new Set(
        (yield* sql<{ recipient: string | null }>`SELECT recipient FROM linecast_admission
          WHERE portal = ${portal} AND admitted_at IS NOT NULL AND recipient IS NOT NULL`).map((row) => row.recipient)
      )
      const scan = 2 * count + admitted.size
      const oldest = yield* sql<Candidate>`SELECT entry_id, generation, recipient, ready_at FROM linecast_admission
        WHERE admitted_at IS NULL AND portal = ${portal} AND ready_at <= ${now} ORDER BY ready_at LIMIT ${scan}`
      const chosen = pick(oldest, admitted, count)
      if (chosen.length === count || oldest.length < scan) return chosen
      // Each recipient's oldest (the index holds waiting rows only); the outer query finds them by key alone,
      // which every planner does by the primary key.
      const heads = yield* sql<Candidate & { readonly admitted_at: number | string | null }>`WITH RECURSIVE
        recipients(recipient, depth) AS (
          SELECT MIN(recipient), 1 FROM linecast_admission WHERE admitted_at IS NULL AND portal = ${portal}
          UNION ALL
          SELECT (SELECT MIN(recipient) FROM linecast_admission
              WHERE admitted_at IS NULL AND portal = ${portal} AND recipient > recipients.recipient), depth + 1
            FROM recipients WHERE recipients.recipient IS NOT NULL AND depth < ${count * scanPerPlace + admitted.size}
        )
        SELECT entry_id, generation, recipient, ready_at, admitted_at FROM linecast_admission
        WHERE entry_id IN (SELECT (SELECT x.entry_id FROM linecast_admission x
            WHERE x.admitted_at IS NULL AND x.portal = ${portal} AND x.recipient = r.recipient AND x.ready_at <= ${now}
            ORDER BY x.ready_at LIMIT 1)
          FROM recipients r WHERE r.recipient IS NOT NULL)`
      const taken = new Set(chosen.map((key) => key.entryId))
      const busy = new Set(admitted)
      for (const row of oldest) if (taken.has(row.entry_id) && row.recipient !== null) busy.add(row.recipient)
      const others = heads
        .filter((row) => row.admitted_at === null && !taken.has(row.entry_id))
        .sort((a, b) => Number(a.ready_at) - Number(b.ready_at))
      return [...chosen, ...pick(others, busy, count - chosen.length)]
    })

  // Chosen first, then admitted by key: the conditional update admits each row once across runners.
  const admitPortal = (portal: string, count: number, now: number) =>
    Effect.flatMap(choose(portal, count, now), (chosen) =>
      chosen.length === 0
        ? Effect.succeed([])
        : sql<{ entry_id: string; generation: number | string }>`UPDATE linecast_admission SET admitted_at = ${now}
              WHERE (${keys(chosen)}) AND admitted_at IS NULL RETURNING entry_id, generation`
    )

  return Admission.of({
    add: (rows) =>
      Effect.forEach(
        chunks(rows, 200),
        (chunk) =>
          sql`INSERT INTO linecast_admission ${sql.insert(
            chunk.map((row) => ({
              entry_id: row.entryId,
              generation: row.generation,
              portal: row.portal,
              recipient: row.recipient,
              ready_at: row.readyAt
            }))
          )} ON CONFLICT (entry_id, generation) DO NOTHING`,
        { discard: true }
      ).pipe(Effect.mapError(storageError("admit"))),

    // One admission at a time, across runners too: two that counted the same places would both fill them.
    admit: (limits, now) =>
      Effect.gen(function* () {
        yield* sql.onDialectOrElse({
          pg: () => sql`SELECT pg_advisory_xact_lock(${admitLock})`,
          orElse: () => Effect.void
        })
        const active = yield* sql<{ portal: string; n: number | string }>`SELECT portal, COUNT(*) AS n
          FROM linecast_admission WHERE admitted_at IS NOT NULL GROUP BY portal`
        const admittedOf = new Map(active.map((row) => [row.portal, Number(row.n)]))
        let room = limits.total - active.reduce((sum, row) => sum + Number(row.n), 0)
        if (room <= 0) return []
        // The portals with waiting rows, one index seek each (a loose index scan).
        const waiting = yield* sql<{ portal: string | null }>`WITH RECURSIVE waiting(portal) AS (
            SELECT MIN(portal) FROM linecast_admission WHERE admitted_at IS NULL
            UNION ALL
            SELECT (SELECT MIN(portal) FROM linecast_admission WHERE admitted_at IS NULL AND portal > waiting.portal)
            FROM waiting WHERE waiting.portal IS NOT NULL
          )
          SELECT portal FROM waiting WHERE portal IS NOT NULL`
        // The least busy portals first, and no portal more than its share of the room left.
        const portals = waiting
          .flatMap((row) => (row.portal === null ? [] : [row.portal]))
          .sort((a, b) => (admittedOf.get(a) ?? 0) - (admittedOf.get(b) ?? 0))
        const admitted: Array<AdmissionKey> = []
        for (let index = 0; index < portals.length && room > 0; index++) {
          const portal = portals[index]!
          const share = Math.ceil(room / (portals.length - index))
          const count = Math.min(share, limits.perPortal - (admittedOf.get(portal) ?? 0))
          if (count <= 0) continue
          const rows = yield* admitPortal(portal, count, now)
          room -= rows.length
          for (const row of rows) admitted.push(keyOf(row))
        }
        return admitted
      }).pipe((admit) => transaction(sql, "admit", admit)),

    release: (list) =>
      list.length === 0
        ? Effect.void
        : write(sql, "release", sql`DELETE FROM linecast_admission WHERE ${keys(list)}`).pipe(
            Effect.zipRight(tellFreed),
            Effect.asVoid
          ),

    requeue: (list) =>
      list.length === 0
        ? Effect.void
        : sql`UPDATE linecast_admission SET admitted_at = NULL WHERE ${keys(list)}`.pipe(
            Effect.zipRight(tellFreed),
            Effect.asVoid,
            Effect.mapError(storageError("requeue"))
          ),

    forget: (entryIds) =>
      entryIds.length === 0
        ? Effect.void
        : sql`DELETE FROM linecast_admission WHERE ${sql.in("entry_id", entryIds)}`.pipe(
            Effect.asVoid,
            Effect.mapError(storageError("release"))
          ),

    admittedBefore: (before, limit) =>
      sql<{ entry_id: string; generation: number | string }>`SELECT entry_id, generation FROM linecast_admission
        WHERE admitted_at IS NOT NULL AND admitted_at < ${before} ORDER BY admitted_at LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map(keyOf)),
        Effect.mapError(storageError("admitted"))
      ),

    touch: (list, at) =>
      list.length === 0
        ? Effect.void
        : sql`UPDATE linecast_admission SET admitted_at = ${at} WHERE admitted_at IS NOT NULL AND (${keys(list)})`.pipe(
            Effect.asVoid,
            Effect.mapError(storageError("admitted"))
          ),

    counts: sql<{ waiting: number | string | null; admitted: number | string | null }>`SELECT
        SUM(CASE WHEN admitted_at IS NULL THEN 1 ELSE 0 END) AS waiting,
        SUM(CASE WHEN admitted_at IS NULL THEN 0 ELSE 1 END) AS admitted
      FROM linecast_admission`.pipe(
      Effect.map((rows) =>
        Option.match(Option.fromNullable(rows[0]), {
          onNone: () => ({ waiting: 0, admitted: 0 }),
          onSome: (row) => ({ waiting: Number(row.waiting ?? 0), admitted: Number(row.admitted ?? 0) })
        })
      ),
      Effect.mapError(storageError("admitted"))
    ),

    wake: Effect.asVoid(Queue.offer(signal, undefined)),
    awaitWake: Effect.map(Queue.take(signal), (): WakeReason => {
      const reason = freed ? "freed" : "added"
      freed = false
      return reason
    })
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Admission, OutboxStorageError, SqlClient.SqlClient> = Layer.effect(Admission, make)
