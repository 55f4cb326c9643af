/**
 * What every table of delivery's own shares: how a database failure becomes an `OutboxStorageError`
 * (the driver's reason kept: "Failed to execute statement" alone helps nobody), and how tables are
 * created when missing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import { isSqlError, withTransaction } from "../DeliveryDatabase.js"
import { OutboxStorageError } from "../DeliveryError.js"

export const storageError =
  (operation: string) =>
  (error: { readonly message: string; readonly cause?: unknown }): OutboxStorageError =>
    new OutboxStorageError({
      operation,
      message: error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message
    })

/** The effect with its database failures as `OutboxStorageError`s. */
const storageFailures = <A, E, R>(
  operation: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError> | OutboxStorageError, R> =>
  Effect.catchIf(effect as Effect.Effect<A, E | SqlError, R>, isSqlError, (error) =>
    Effect.fail(storageError(operation)(error))
  ) as Effect.Effect<A, Exclude<E, SqlError> | OutboxStorageError, R>

/** A transaction (see `DeliveryDatabase.withTransaction`) whose database failures are `OutboxStorageError`s. */
export const transaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  operation: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError> | OutboxStorageError, R> =>
  storageFailures(operation, withTransaction(sql, effect))

/**
 * A write that needs no transaction of its own (one statement, or a few whose order the caller holds), with its
 * database failures as `OutboxStorageError`s. On SQLite it shares a commit with the transactions beside it (see
 * `DeliveryDatabase.withTransaction`): a message's few writes were an fsync each. On PostgreSQL it runs as it is,
 * without the round trips of a transaction.
 */
export const write = <A, E, R>(
  sql: SqlClient.SqlClient,
  operation: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError> | OutboxStorageError, R> =>
  sql.onDialectOrElse({
    sqlite: () => transaction(sql, operation, effect),
    orElse: () => storageFailures(operation, effect)
  })

/**
 * A column added to a table after its first version: a table made earlier gains it (nullable).
 */
export interface AddedColumn {
  readonly table: string
  readonly column: string
  readonly type: string
}

/** Adds the column to an existing table that lacks it; a missing table is left to its `CREATE`. */
const addColumn = (sql: SqlClient.SqlClient, { table, column, type }: AddedColumn) =>
  sql.onDialectOrElse({
    pg: () => Effect.asVoid(sql.unsafe(`ALTER TABLE IF EXISTS ${table} ADD COLUMN IF NOT EXISTS ${column} ${type}`)),
    orElse: () =>
      Effect.flatMap(sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`, (columns) =>
        columns.length === 0 || columns.some((found) => found.name === column)
          ? Effect.void
          : Effect.asVoid(sql.unsafe(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`))
      )
  })

/**
 * Runs `statements` (`CREATE ... IF NOT EXISTS`) in one transaction, after adding the `added` columns to
 * tables made by an earlier version. PostgreSQL's `CREATE ... IF NOT EXISTS` races with itself across
 * runners starting together: each group of tables takes its own advisory lock first.
 */
export const createTables = (
  lock: number,
  statements: ReadonlyArray<string>,
  added: ReadonlyArray<AddedColumn> = []
): Effect.Effect<void, OutboxStorageError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    transaction(
      sql,
      "migrate",
      Effect.gen(function* () {
        yield* sql.onDialectOrElse({
          pg: () => sql`SELECT pg_advisory_xact_lock(${lock})`,
          orElse: () => Effect.void
        })
        for (const column of added) yield* addColumn(sql, column)
        for (const statement of statements) yield* sql.unsafe(statement)
      })
    )
  ).pipe(
    // A failure here (an index on a missing column) is most often a table made by another version: say so.
    Effect.catchAll((error) => Effect.zipRight(verifyAll(statements), Effect.fail(error))),
    Effect.zipRight(verifyAll(statements))
  )

const verifyAll = (statements: ReadonlyArray<string>) =>
  Effect.forEach(statements.flatMap(tableOf), verify, { discard: true })

/** The table a `CREATE TABLE` statement makes, with its columns (our own statements: one column a line). */
const tableOf = (
  statement: string
): ReadonlyArray<{ readonly table: string; readonly columns: ReadonlyArray<string> }> => {
  const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(statement)?.[1]
  if (table === undefined) return []
  const columns = statement
    .split("\n")
    .slice(1)
    .map((line) => /^\s*(\w+)\s+[A-Z]/.exec(line)?.[1])
    .filter((column): column is string => column !== undefined && column !== "PRIMARY" && column !== "UNIQUE")
  return [{ table, columns }]
}

/**
 * A table that exists with other columns was made by another version: say so at start-up, before any
 * work is accepted, instead of failing each write later.
 */
const verify = ({ table, columns }: { readonly table: string; readonly columns: ReadonlyArray<string> }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(`SELECT ${columns.join(", ")} FROM ${table} WHERE 1 = 0`)
  ).pipe(
    Effect.mapError(
      (error) =>
        new OutboxStorageError({
          operation: "migrate",
          message: `schema mismatch: ${table} exists without the columns this version of Linecast needs (${columns.join(", ")}); it was made by another version (${storageError("migrate")(error).message})`
        })
    ),
    Effect.asVoid
  )
