/**
 * What a portal's holder hands over when the portal moves to another runner (a rebalance, a crash):
 * the level of its leaky bucket, so that the next holder does not spend what is already spent, and
 * the send attempts it started, so that an attempt whose answer was lost with its runner is
 * reconciled rather than sent again.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createTables, storageError, write } from "./internal/tables.js"
import type { OutboxStorageError } from "./OutboxStore.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class PortalState extends Context.Tag("@linecast/delivery/PortalState")<PortalState, PortalState.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace PortalState {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The bucket's level its last holder saw, and when; none for a portal never used. */
    readonly bucket: (
      portal: string
    ) => Effect.Effect<{ readonly level: number; readonly at: number } | undefined, OutboxStorageError>
    readonly saveBucket: (portal: string, level: number, at: number) => Effect.Effect<void, OutboxStorageError>
    /**
     * Records that these attempts are about to be sent; answers those that were not recorded before.
     * An attempt recorded before was started by an earlier holder and may have landed.
     */
    readonly begin: (
      portal: string,
      attempts: ReadonlyArray<string>,
      at: number
    ) => Effect.Effect<ReadonlySet<string>, OutboxStorageError>
    /** Forgets attempts older than `before`. */
    readonly forget: (portal: string, before: number) => Effect.Effect<void, OutboxStorageError>
  }
}

const tables = [
  `CREATE TABLE IF NOT EXISTS linecast_portal_bucket (
    portal TEXT PRIMARY KEY,
    level DOUBLE PRECISION NOT NULL,
    at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS linecast_send_attempt (
    attempt_id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    started_at BIGINT NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS linecast_send_attempt_age ON linecast_send_attempt (portal, started_at)"
]

/** Names the migration lock in PostgreSQL, apart from the outbox's. */
const migrationLock = 7_245_109_332

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<PortalState.Service, OutboxStorageError, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    yield* createTables(migrationLock, tables)

    return {
      bucket: (portal) =>
        sql<{
          level: number
          at: number | string
        }>`SELECT level, at FROM linecast_portal_bucket WHERE portal = ${portal}`.pipe(
          Effect.map((rows) => {
            const row = rows[0]
            return row === undefined ? undefined : { level: Number(row.level), at: Number(row.at) }
          }),
          Effect.mapError(storageError("bucket"))
        ),
      saveBucket: (portal, level, at) =>
        sql`INSERT INTO linecast_portal_bucket (portal, level, at) VALUES (${portal}, ${level}, ${at})
          ON CONFLICT (portal) DO UPDATE SET level = excluded.level, at = excluded.at`.pipe(
          Effect.asVoid,
          Effect.mapError(storageError("saveBucket"))
        ),
      begin: (portal, attempts, at) =>
        attempts.length === 0
          ? Effect.succeed(new Set<string>())
          : write(
              sql,
              "begin",
              sql<{ attempt_id: string }>`INSERT INTO linecast_send_attempt ${sql.insert(
                attempts.map((attempt) => ({ attempt_id: attempt, portal, started_at: at }))
              )} ON CONFLICT (attempt_id) DO NOTHING RETURNING attempt_id`
            ).pipe(Effect.map((rows) => new Set(rows.map((row) => row.attempt_id)))),
      forget: (portal, before) =>
        sql`DELETE FROM linecast_send_attempt WHERE portal = ${portal} AND started_at < ${before}`.pipe(
          Effect.asVoid,
          Effect.mapError(storageError("forget"))
        )
    }
  }
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PortalState, OutboxStorageError, SqlClient.SqlClient> = Layer.effect(PortalState, make)
