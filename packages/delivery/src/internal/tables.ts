/**
 * What every table of delivery's own shares: how a database failure becomes an `OutboxStorageError`
 * (the driver's reason kept: "Failed to execute statement" alone helps nobody), and how tables are
 * created when missing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { OutboxStorageError } from "../DeliveryError.js"

export const storageError =
  (operation: string) =>
  (error: { readonly message: string; readonly cause?: unknown }): OutboxStorageError =>
    new OutboxStorageError({
      operation,
      message: error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message
    })

/**
 * Runs `statements` (`CREATE ... IF NOT EXISTS`) in one transaction. PostgreSQL's `CREATE ... IF NOT EXISTS`
 * races with itself across runners starting together: each group of tables takes its own advisory lock first.
 */
export const createTables = (
  lock: number,
  statements: ReadonlyArray<string>
): Effect.Effect<void, OutboxStorageError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.gen(function* () {
        yield* sql.onDialectOrElse({
          pg: () => sql`SELECT pg_advisory_xact_lock(${lock})`,
          orElse: () => Effect.void
        })
        for (const statement of statements) yield* sql.unsafe(statement)
      })
    )
  ).pipe(Effect.mapError(storageError("migrate")))
