import * as fs from "node:fs"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, ManagedRuntime } from "effect"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import * as SqliteClient from "../src/internal/sqliteClient.js"
import type { Files } from "../src/internal/walSync.js"
import { freshDatabase } from "./harness.js"

/** node:fs, except that each sync of a file waits until the test lets it go (or fails it). */
const gatedFiles = () => {
  const paths = new Map<number, string>()
  const held: Array<{ readonly path: string; readonly go: (error?: Error) => void }> = []
  const files: Files = {
    open: (path, flags, callback) =>
      fs.open(path, flags, (error, fd) => {
        if (error === null) paths.set(fd, path)
        callback(error, fd)
      }),
    fsync: fs.fsync,
    close: fs.close,
    fdatasync: (fd, callback) => {
      held.push({
        path: paths.get(fd) ?? "",
        go: (error) => (error === undefined ? fs.fdatasync(fd, callback) : callback(error))
      })
    }
  }
  /** Waits for the next sync to be asked for (the event loop runs meanwhile). */
  const nextSync = async () => {
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    return held.shift()!
  }
  return { files, nextSync, pending: () => held.length }
}

const sqliteFile = async () => {
  const database = await freshDatabase("sqlite")
  if (database.kind !== "sqlite") throw new Error("a SQLite database was asked for")
  return database.filename
}

/** Settles to what the promise gave, or "pending" if it has not settled within a few turns of the event loop. */
const stateOf = async (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => "done",
      () => "failed"
    ),
    new Promise((resolve) => setTimeout(() => resolve("pending"), 30))
  ])

describe("delivery's SQLite client", () => {
  it("waits for another connection's write lock without holding its thread still", async () => {
    const database = await freshDatabase("sqlite")
    // Two connections to one file in one thread: if the second waited inside the driver, the first could never
    // commit, and the second would fail as "database is locked" after the driver's timeout.
    const first = ManagedRuntime.make(DeliveryDatabase.layer(database))
    const second = ManagedRuntime.make(DeliveryDatabase.layer(database))
    await first.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE IF NOT EXISTS waits (n INTEGER NOT NULL)`)
    )
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const holding = first.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(
          Effect.zipRight(
            sql`INSERT INTO waits (n) VALUES (1)`,
            Effect.promise(() => released)
          )
        )
      )
    )
    // The first transaction now holds the write lock until `release`.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const order: Array<string> = []
    const waiting = second
      .runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO waits (n) VALUES (2)`))
      .then(() => order.push("second wrote"))
    // The thread goes on while the second waits: this timer fires, and lets the first commit.
    setTimeout(() => {
      order.push("timer ran")
      release()
    }, 200)
    await Promise.all([holding, waiting])
    expect(order).toEqual(["timer ran", "second wrote"])
    const rows = await second.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT n FROM waits ORDER BY n`)
    )
    expect(rows.map((row) => row.n)).toEqual([1, 2])
    await first.dispose()
    await second.dispose()
  })

  it("keeps statement journals in memory (a multi-row insert writes no temp file page by page)", async () => {
    const runtime = ManagedRuntime.make(DeliveryDatabase.layer(await freshDatabase("sqlite")))
    const [row] = await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ temp_store: number }>`PRAGMA temp_store`)
    )
    await runtime.dispose()
    // 2: MEMORY.
    expect(row?.temp_store).toBe(2)
  })

  it("fails a transaction whose COMMIT fails as a SqlError, rolled back, and the connection goes on", async () => {
    const runtime = ManagedRuntime.make(SqliteClient.layer(await sqliteFile()))
    const outcome = await runtime.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // A deferred foreign key is checked at COMMIT: the one way SQLite refuses a COMMIT on demand.
        yield* sql`PRAGMA foreign_keys = ON`
        yield* sql`CREATE TABLE parents (id INTEGER PRIMARY KEY)`
        yield* sql`CREATE TABLE children (id INTEGER PRIMARY KEY,
          parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)`
        const failed = yield* Effect.either(sql.withTransaction(sql`INSERT INTO children (id, parent) VALUES (1, 99)`))
        yield* sql.withTransaction(sql`INSERT INTO parents (id) VALUES (7)`)
        const children = yield* sql<{ id: number }>`SELECT id FROM children`
        const parents = yield* sql<{ id: number }>`SELECT id FROM parents`
        return { failed, children, parents }
      })
    )
    expect(Either.isLeft(outcome.failed) && outcome.failed.left._tag).toBe("SqlError")
    expect(outcome.children).toEqual([])
    expect(outcome.parents.map((row) => row.id)).toEqual([7])
    await runtime.dispose()
  })

  describe("commits on disk", () => {
    /** A client whose syncs the test lets go, on a file with a table `things` (its own commit synced). */
    const withTable = async () => {
      const gate = gatedFiles()
      const runtime = ManagedRuntime.make(SqliteClient.layer(await sqliteFile(), gate.files))
      const on = <A, E>(use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
        runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, use))
      const creating = on((sql) => sql`CREATE TABLE things (n INTEGER NOT NULL)`)
      ;(await gate.nextSync()).go()
      await creating
      return { gate, runtime, on }
    }

    it("answers a commit once the log holding it is synced, and this thread runs on meanwhile", async () => {
      const { gate, runtime, on } = await withTable()
      const [mode] = await on((sql) => sql<{ synchronous: number }>`PRAGMA synchronous`)
      // NORMAL: SQLite writes the log at a commit; the sync is this client's, off the thread.
      expect(mode?.synchronous).toBe(1)
      const writing = on((sql) => sql.withTransaction(sql`INSERT INTO things (n) VALUES (1)`))
      const sync = await gate.nextSync()
      expect(sync.path.endsWith("-wal")).toBe(true)
      // The commit has been written, not yet synced: not answered (the timers of the wait above did run).
      expect(await stateOf(writing)).toBe("pending")
      sync.go()
      expect(await stateOf(writing)).toBe("done")
      await runtime.dispose()
    })

    it("makes a commit that ends during a sync wait for the next one", async () => {
      const { gate, runtime, on } = await withTable()
      const first = on((sql) => sql`INSERT INTO things (n) VALUES (1)`)
      const firstSync = await gate.nextSync()
      // Written while the first sync runs: that sync may have begun before it reached the log.
      const second = on((sql) => sql`INSERT INTO things (n) VALUES (2)`)
      expect(await stateOf(second)).toBe("pending")
      expect(gate.pending()).toBe(0)
      firstSync.go()
      expect(await stateOf(first)).toBe("done")
      expect(await stateOf(second)).toBe("pending")
      ;(await gate.nextSync()).go()
      expect(await stateOf(second)).toBe("done")
      await runtime.dispose()
    })

    it("fails a commit whose sync failed, as a SqlError, and syncs the next one again", async () => {
      const { gate, runtime, on } = await withTable()
      const failing = on((sql) => Effect.either(sql`INSERT INTO things (n) VALUES (1)`))
      ;(await gate.nextSync()).go(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }))
      const failed = await failing
      expect(Either.isLeft(failed) && failed.left._tag).toBe("SqlError")
      const next = on((sql) => sql`INSERT INTO things (n) VALUES (2)`)
      ;(await gate.nextSync()).go()
      await next
      await runtime.dispose()
    })

    it("syncs nothing for a transaction that only read", async () => {
      const { gate, runtime, on } = await withTable()
      const rows = await on((sql) => sql.withTransaction(sql<{ n: number }>`SELECT COUNT(*) AS n FROM things`))
      expect(rows[0]?.n).toBe(0)
      expect(gate.pending()).toBe(0)
      await runtime.dispose()
    })
  })
})
