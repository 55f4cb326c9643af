/**
 * Delivery's SQLite `SqlClient`: `@effect/sql-sqlite-node`'s, except that transactions begin with
 * `BEGIN IMMEDIATE`, which matters once two connections share the file (an adapter's thread and
 * delivery's worker, see `DeliveryWorker`). A plain `BEGIN` takes the write lock only at its first
 * write, and a transaction that read first then finds the file changed by the other connection
 * fails at once with "database is locked" (SQLite cannot wait there without risking a deadlock).
 * Taking the write lock up front makes it wait instead.
 *
 * The wait itself is asynchronous: the driver's own busy timeout would sleep inside SQLite, holding
 * the thread's event loop still (an adapter's thread then answers nobody while delivery's worker
 * commits). Here a statement SQLite answers "busy" (the write lock is the other connection's) is
 * tried again when a write of this process ends, or after a short timer, up to `busyTimeoutMs`, and
 * the thread goes on meanwhile; delivery's worker lets the adapter's thread go first (`writeTurns`).
 * A busy statement did nothing (an autocommit write, or `BEGIN IMMEDIATE`), so running it again is safe.
 *
 * Nor does the thread wait for the disk: a commit writes the log, and the log is synced in libuv's
 * thread pool before the commit is answered (`walSync`).
 */
import { resolve } from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Client from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import Sqlite from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as ConnectionLock from "./connectionLock.js"
import * as WalSync from "./walSync.js"
import * as WriteTurns from "./writeTurns.js"

// biome-ignore lint/suspicious/noExplicitAny: rows are untyped, as `Connection` declares them
type Rows = ReadonlyArray<any>

/** Statements kept prepared; the least recently used one goes first past this. */
const cacheSize = 500

/** How long a statement waits for the other connection's write lock before it fails (the driver's default). */
const busyTimeoutMs = 5_000

const isBusy = (cause: unknown) =>
  typeof cause === "object" && cause !== null && String((cause as { code?: unknown }).code).startsWith("SQLITE_BUSY")

/**
 * The longest wait for a busy lock before trying again: 1, 1, 2, 4 ms up to 8 ms. A connection of this process
 * that ends its write wakes the waiting one at once (see `writeTurns`); these bound the wait for one elsewhere.
 */
const backoff = (attempt: number) => (attempt === 0 ? 1 : Math.min(8, 2 ** (attempt - 1)))

const begins = /^BEGIN\b/

const make = (filename: string, files?: WalSync.Files) =>
  Effect.gen(function* () {
    const compiler = Statement.makeCompilerSqlite()
    let wal: WalSync.WalSync | undefined
    const db = yield* Effect.try({
      try: () => {
        const opened = new Sqlite(filename)
        // An in-memory (or temporary) database has no log, and nothing to make durable.
        if (opened.pragma("journal_mode = WAL", { simple: true }) === "wal" && opened.name !== "") {
          // A commit writes the log; `wal` syncs it off this thread before the commit is answered.
          opened.pragma("synchronous = NORMAL")
          // Absolute, as SQLite keeps it: a later change of the working directory moves nothing.
          wal = WalSync.make(resolve(opened.name), files)
        }
        // From here on no busy timeout in the driver: `run` waits for the lock without blocking the thread.
        opened.pragma("busy_timeout = 0")
        // A statement that may stop half-way (a multi-row insert) keeps the pages it changes in a statement
        // journal: in memory, not spilled to a temp file with a write for each page (storing a batch of the
        // outbox's rows took half as long again with it on file).
        opened.pragma("temp_store = MEMORY")
        return opened
      },
      catch: (cause) => new SqlError({ cause, message: "Failed to open the database" })
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        db.close()
        wal?.close()
      })
    )
    const turns = WriteTurns.make(filename)

    const statements = new Map<string, Sqlite.Statement>()
    const prepared = (sql: string): Sqlite.Statement => {
      const cached = statements.get(sql)
      if (cached !== undefined) {
        // Most recently used last: a Map keeps insertion order.
        statements.delete(sql)
        statements.set(sql, cached)
        return cached
      }
      const statement = db.prepare(sql)
      statements.set(sql, statement)
      if (statements.size > cacheSize) statements.delete(statements.keys().next().value!)
      return statement
    }

    // Unprepared statements (the cluster engine's) carry their values in the text: caching them would only evict.
    // Transaction control is the exception: the same few words, twice a transaction.
    const control = /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/
    // Whether this connection wrote since its last commit was made durable.
    let unsynced = false
    const attempt = (sql: string, params: ReadonlyArray<unknown>, mode: "rows" | "raw" | "values", cache: boolean) =>
      Effect.withFiberRuntime<Rows, SqlError>((fiber) => {
        try {
          const statement = cache || control.test(sql) ? prepared(sql) : db.prepare(sql)
          statement.safeIntegers(Context.get(fiber.currentContext, Client.SafeIntegers))
          if (!statement.reader) {
            const result = statement.run(...params)
            const rows = mode === "raw" ? (result as unknown as Rows) : []
            if (!control.test(sql)) unsynced = true
            if (db.inTransaction) return Effect.succeed(rows)
            // A commit, a rollback or a write outside a transaction: the lock is free again, and what was
            // written is answered once it is on disk.
            turns.release()
            if (!unsynced || wal === undefined) return Effect.succeed(rows)
            unsynced = false
            return Effect.as(wal.durable, rows)
          }
          if (mode !== "values") return Effect.succeed(statement.all(...params))
          try {
            return Effect.succeed(statement.raw(true).all(...params))
          } finally {
            statement.raw(false)
          }
        } catch (cause) {
          return Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
        }
      })

    const run = (sql: string, params: ReadonlyArray<unknown>, mode: "rows" | "raw" | "values", cache = true) => {
      const started = Date.now()
      const busy = (error: SqlError) => isBusy(error.cause) && Date.now() - started < busyTimeoutMs
      // `seen` is read before each try: a write that ends between the try and the wait is not missed.
      const retry = (tries: number, seen: number): Effect.Effect<Rows, SqlError> =>
        Effect.zipRight(
          turns.awaitRelease(seen, backoff(tries)),
          Effect.suspend(() => {
            const next = turns.seen()
            return Effect.catchIf(attempt(sql, params, mode, cache), busy, () => retry(tries + 1, next))
          })
        )
      const tried = Effect.suspend(() => {
        const seen = turns.seen()
        return Effect.catchIf(attempt(sql, params, mode, cache), busy, () =>
          Effect.ensuring(retry(0, seen), Effect.sync(turns.done))
        )
      })
      return begins.test(sql) ? Effect.zipRight(turns.courtesy, tried) : tried
    }

    const connection: Connection = {
      execute: (sql, params, transformRows) =>
        transformRows ? Effect.map(run(sql, params, "rows"), transformRows) : run(sql, params, "rows"),
      executeRaw: (sql, params) => run(sql, params, "raw"),
      executeValues: (sql, params) => run(sql, params, "values"),
      executeUnprepared: (sql, params, transformRows) =>
        transformRows
          ? Effect.map(run(sql, params ?? [], "rows", false), transformRows)
          : run(sql, params ?? [], "rows", false),
      executeStream: () => Effect.dieMessage("executeStream not implemented")
    }

    // A transaction has the connection to itself from `BEGIN` to its end (see `connectionLock`); a statement outside
    // one waits for the transaction that holds it, if any.
    const lock = ConnectionLock.make()
    const connected = Effect.succeed(connection)
    const inTurn = Effect.as(Effect.zipRight(lock.take, lock.release), connection)
    const acquirer = Effect.suspend(() => (lock.held() ? inTurn : connected))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(
          restore(lock.take),
          Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, lock.release))
        ),
        connection
      )
    )
    const client = yield* Client.make({
      acquirer,
      compiler,
      transactionAcquirer,
      beginTransaction: "BEGIN IMMEDIATE",
      spanAttributes: [["db.system.name", "sqlite"]]
    })

    /**
     * The client's transactions, by hand on this connection: what `@effect/sql` does (a savepoint inside another
     * transaction, `BEGIN IMMEDIATE` otherwise, statements inside on the transaction's connection), without its span
     * and scope, about half the Effect operations of a delivery step's writes. A failed `COMMIT` is a failure, not
     * a defect, and is rolled back.
     */
    const command = (statement: string) => run(statement, [], "rows")
    const withTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.withFiberRuntime<A, E | SqlError, R>((fiber) => {
          const outer = Context.getOption(fiber.currentContext, Client.TransactionConnection)
          const depth = outer._tag === "Some" ? outer.value[1] + 1 : 0
          const inside = Effect.exit(
            restore(Effect.provideService(effect, Client.TransactionConnection, [connection, depth]))
          )
          if (depth > 0) {
            const savepoint = `effect_sql_${depth}`
            return Effect.zipRight(
              command(`SAVEPOINT ${savepoint}`),
              Effect.flatMap(inside, (exit) =>
                Exit.isSuccess(exit)
                  ? exit
                  : Effect.zipRight(Effect.orDie(command(`ROLLBACK TO SAVEPOINT ${savepoint}`)), exit)
              )
            )
          }
          return Effect.zipRight(
            restore(lock.take),
            Effect.ensuring(
              Effect.zipRight(
                command("BEGIN IMMEDIATE"),
                Effect.flatMap(inside, (exit) =>
                  Exit.isSuccess(exit)
                    ? Effect.zipRight(
                        Effect.tapError(command("COMMIT"), () =>
                          Effect.ignore(Effect.suspend(() => (db.inTransaction ? command("ROLLBACK") : Effect.void)))
                        ),
                        exit
                      )
                    : Effect.zipRight(Effect.orDie(command("ROLLBACK")), exit)
                )
              ),
              lock.release
            )
          )
        })
      )
    Object.assign(client, { withTransaction })
    WriteTurns.register(client, turns)
    return client
  })

/** A `SqlClient` on the SQLite file; `files` stands in for node:fs's syncs (tests). */
export const layer = (filename: string, files?: WalSync.Files): Layer.Layer<Client.SqlClient, SqlError> =>
  Layer.scoped(Client.SqlClient, make(filename, files)).pipe(Layer.provide(Reactivity.layer))
