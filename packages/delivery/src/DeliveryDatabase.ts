/**
 * Where delivery keeps its state: SQLite in a file under `./.linecast/` by default (one process,
 * zero set-up), PostgreSQL when `LINECAST_DATABASE_URL` names one (several runners share the
 * work). The cluster engine's own tables and Linecast's outbox and ledger live side by side, so
 * that an outbox row and the engine's step are written to the same database.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as SqliteClient from "./internal/sqliteClient.js"
import { grouped } from "./internal/transactionGroups.js"

/**
 * @since 0.1.0
 * @category models
 */
export type DatabaseOptions =
  | { readonly kind: "sqlite"; readonly filename: string }
  | { readonly kind: "postgres"; readonly url: Redacted.Redacted<string> }

/**
 * The default SQLite file.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSqliteFile = ".linecast/linecast.sqlite"

/**
 * A `SqlClient` for the options: SQLite (its folder created when missing) or PostgreSQL.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: DatabaseOptions
): Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError | SqlError.SqlError> => {
  if (options.kind === "postgres") return PgClient.layer({ url: options.url })
  return Layer.unwrapEffect(
    Effect.sync(() => {
      if (options.filename !== ":memory:") mkdirSync(dirname(options.filename), { recursive: true })
      return SqliteClient.layer(options.filename)
    })
  )
}

/**
 * The options from the environment: `LINECAST_DATABASE_URL` (a `postgres://` URL) or
 * `LINECAST_SQLITE_FILE` (default `.linecast/linecast.sqlite`).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<DatabaseOptions> = Config.all({
  url: Config.option(Config.redacted("LINECAST_DATABASE_URL")),
  filename: Config.string("LINECAST_SQLITE_FILE").pipe(Config.withDefault(defaultSqliteFile))
}).pipe(
  Config.map(
    ({ url, filename }): DatabaseOptions =>
      Option.isSome(url) && /^postgres(ql)?:\/\//.test(Redacted.value(url.value))
        ? { kind: "postgres", url: url.value }
        : { kind: "sqlite", filename }
  )
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError | SqlError.SqlError> =
  Layer.unwrapEffect(Effect.map(config, layer))

/**
 * `sql.withTransaction`, with a failed `COMMIT` (a full disk) answered as the `SqlError` it is: `@effect/sql`
 * makes it a defect (delivery's own SQLite client already answers it as a failure, rolled back), and SQLite may
 * keep the transaction open after it, so that every later statement on the connection would join it and seem to
 * succeed without ever being stored. It is rolled back at once, before the connection's next user can reach it.
 * Every transaction on delivery's database goes through here, adapters' own tables included.
 *
 * On SQLite, transactions that arrive while another is being written share the next commit (one fsync for
 * all), each in a savepoint of its own when there are several: one that fails rolls back alone, and none is
 * answered before its commit. PostgreSQL's pool runs them side by side instead.
 *
 * @since 0.1.0
 * @category transactions
 */
export const withTransaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError.SqlError, R> =>
  sql.onDialectOrElse({
    sqlite: () => grouped(sql, (group) => ownTransaction(sql, group), effect),
    orElse: () => ownTransaction(sql, effect)
  })

const ownTransaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError.SqlError, R> =>
  sql
    .withTransaction(effect)
    .pipe(
      Effect.catchSomeDefect((defect) =>
        isSqlError(defect)
          ? Option.some(
              Effect.zipRight(
                sql.onDialectOrElse({ sqlite: () => Effect.ignore(sql.unsafe("ROLLBACK")), orElse: () => Effect.void }),
                Effect.fail(defect)
              )
            )
          : Option.none()
      )
    )

/**
 * Whether a failure or defect is `@effect/sql`'s `SqlError` (by its tag: a second copy of the library would fail
 * `instanceof`).
 *
 * @since 0.1.0
 * @category transactions
 */
export const isSqlError = (error: unknown): error is SqlError.SqlError =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "SqlError"
