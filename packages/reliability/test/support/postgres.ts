/** A PostgreSQL schema of the test's own on the machine's server (127.0.0.1:5432, database `test`), dropped afterwards. */
import { SqlClient } from "@effect/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, ManagedRuntime, Redacted } from "effect"

const adminUrl = Redacted.make("postgres://postgres@127.0.0.1:5432/test")

const admin = <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) => {
  const runtime = ManagedRuntime.make(PgClient.layer({ url: adminUrl }))
  return runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, statement)).finally(() => runtime.dispose())
}

export interface Schema {
  readonly name: string
  /** The URL that puts every statement in the schema. */
  readonly url: string
  readonly drop: () => Promise<void>
  /** Ends every server connection of this schema's clients (named by `application_name`); how many. */
  readonly terminateBackends: () => Promise<number>
  /** Rows in one of the schema's tables. */
  readonly count: (table: string) => Promise<number>
  /** Rows of `SELECT state, COUNT(*) FROM linecast_outbox GROUP BY state`. */
  readonly outboxStates: () => Promise<Readonly<Record<string, number>>>
}

export const freshSchema = async (): Promise<Schema> => {
  const name = `linecast_reliability_${process.pid}_${Date.now().toString(36)}`
  await admin((sql) => sql.unsafe(`CREATE SCHEMA ${name}`))
  return {
    name,
    // The application name marks this run's connections, so that only they are ever terminated.
    url: `postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D${name}&application_name=${name}`,
    drop: () => admin((sql) => sql.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`)).then(() => undefined),
    terminateBackends: async () => {
      const rows = await admin((sql) =>
        sql.unsafe<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = '${name}'`
        )
      )
      return rows.filter((row) => row.ended).length
    },
    count: async (table) => {
      const rows = await admin((sql) =>
        sql.unsafe<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${name}.${table}`)
      )
      return Number(rows[0]?.n ?? 0)
    },
    outboxStates: async () => {
      const rows = await admin((sql) =>
        sql.unsafe<{ state: string; n: string | number }>(
          `SELECT state, COUNT(*) AS n FROM ${name}.linecast_outbox GROUP BY state`
        )
      )
      return Object.fromEntries(rows.map((row) => [row.state, Number(row.n)]))
    }
  }
}
