/**
 * Workflows accepted but not yet handed to the engine. `enqueue` answers once the entry is stored and
 * starts its workflow beside the answer; the entry and its pending start are written in one
 * transaction, and the start is crossed off once the engine took it. A runner that dies in between
 * leaves the start here, and any runner's sweep starts it (starting an execution twice is harmless).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createTables, storageError } from "./internal/tables.js"
import type { OutboxStorageError } from "./OutboxStore.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class PendingStarts extends Context.Tag("@linecast/delivery/PendingStarts")<
  PendingStarts,
  PendingStarts.Service
>() {}

/**
 * @since 0.1.0
 */
export declare namespace PendingStarts {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly add: (entryId: string, generation: number, at: number) => Effect.Effect<void, OutboxStorageError>
    readonly remove: (entryId: string, generation: number) => Effect.Effect<void, OutboxStorageError>
    /** Starts recorded before `before`, oldest first. */
    readonly stale: (
      before: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<{ readonly entryId: string; readonly generation: number }>, OutboxStorageError>
  }
}

/** Names the migration lock in PostgreSQL. */
const migrationLock = 7_245_109_333

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<PendingStarts.Service, OutboxStorageError, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    yield* createTables(migrationLock, [
      `CREATE TABLE IF NOT EXISTS linecast_pending_start (
        entry_id TEXT NOT NULL,
        generation BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (entry_id, generation)
      )`,
      "CREATE INDEX IF NOT EXISTS linecast_pending_start_age ON linecast_pending_start (created_at)"
    ])
    return {
      add: (entryId, generation, at) =>
        sql`INSERT INTO linecast_pending_start (entry_id, generation, created_at) VALUES (${entryId}, ${generation}, ${at})
          ON CONFLICT (entry_id, generation) DO NOTHING`.pipe(Effect.asVoid, Effect.mapError(storageError("addStart"))),
      remove: (entryId, generation) =>
        sql`DELETE FROM linecast_pending_start WHERE entry_id = ${entryId} AND generation = ${generation}`.pipe(
          Effect.asVoid,
          Effect.mapError(storageError("removeStart"))
        ),
      stale: (before, limit) =>
        sql<{ entry_id: string; generation: number | string }>`SELECT entry_id, generation FROM linecast_pending_start
          WHERE created_at < ${before} ORDER BY created_at LIMIT ${limit}`.pipe(
          Effect.map((rows) => rows.map((row) => ({ entryId: row.entry_id, generation: Number(row.generation) }))),
          Effect.mapError(storageError("staleStarts"))
        )
    }
  }
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PendingStarts, OutboxStorageError, SqlClient.SqlClient> = Layer.effect(
  PendingStarts,
  make
)
