/** Reads a SQLite file a spawned `serve` writes, beside it, for the figures of a run and its diagnosis. */
import { SqlClient } from "@effect/sql"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect, ManagedRuntime } from "effect"

export const queryFile = <A extends object>(filename: string, statement: string): Promise<ReadonlyArray<A>> => {
  const runtime = ManagedRuntime.make(SqliteClient.layer({ filename }))
  return runtime
    .runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(statement)))
    .finally(() => runtime.dispose())
}

/** `SELECT state, COUNT(*) … GROUP BY state` of one table. */
export const statesOf = async (filename: string, table: string): Promise<Readonly<Record<string, number>>> => {
  const rows = await queryFile<{ state: string; n: number }>(
    filename,
    `SELECT state, COUNT(*) AS n FROM ${table} GROUP BY state`
  )
  return Object.fromEntries(rows.map((row) => [row.state, Number(row.n)]))
}
