import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Data, Deferred, Effect, Fiber, ManagedRuntime } from "effect"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import { countsOf } from "../src/internal/transactionGroups.js"
import * as WriteTurns from "../src/internal/writeTurns.js"
import { freshDatabase } from "./harness.js"

class Label extends Context.Tag("Label")<Label, number>() {}

class Refused extends Data.TaggedError("Refused")<{ readonly n: number }> {}

/** Two connections to one fresh SQLite file: `own` writes, `other` looks at what is committed. */
const connections = async () => {
  const database = await freshDatabase("sqlite")
  const own = ManagedRuntime.make(DeliveryDatabase.layer(database))
  const other = ManagedRuntime.make(DeliveryDatabase.layer(database))
  await own.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE rows (n INTEGER PRIMARY KEY)`))
  const committed = (n: number) =>
    other.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT n FROM rows WHERE n = ${n}`)
    )
  const all = () =>
    other
      .runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT n FROM rows ORDER BY n`))
      .then((rows) => rows.map((row) => row.n))
  /** Runs on the writing connection. */
  const run = <A>(use: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
    own.runPromise(Effect.flatMap(SqlClient.SqlClient, use))
  const close = () => Promise.all([own.dispose(), other.dispose()])
  return { run, committed, all, close }
}

const insert = (sql: SqlClient.SqlClient, n: number) => sql`INSERT INTO rows (n) VALUES (${n})`

/** A transaction that inserts `n`, says it is `inside`, and holds its connection until `release`; then `then`. */
const holding = <A>(
  sql: SqlClient.SqlClient,
  n: number,
  inside: Deferred.Deferred<void>,
  release: Deferred.Deferred<void>,
  then: Effect.Effect<A> = Effect.void as Effect.Effect<A>
) =>
  DeliveryDatabase.withTransaction(
    sql,
    Effect.zipRight(
      insert(sql, n),
      Effect.zipRight(Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(release)), then)
    )
  )

describe("transactions grouped on SQLite", () => {
  it("shares commits among transactions that arrive together, and answers each only once it is committed", async () => {
    const { run, committed, close } = await connections()
    const seen = await run((sql) =>
      Effect.gen(function* () {
        const before = countsOf(sql)
        const seen = yield* Effect.forEach(
          Array.from({ length: 40 }, (_, index) => index + 1),
          (n) =>
            Effect.zipRight(
              DeliveryDatabase.withTransaction(sql, insert(sql, n)),
              // The other connection sees the row as soon as its writer is answered.
              Effect.promise(() => committed(n))
            ),
          { concurrency: "unbounded" }
        )
        const after = countsOf(sql)
        expect(after.transactions - before.transactions).toBe(40)
        // Forty transactions, far fewer commits.
        expect(after.commits - before.commits).toBeLessThan(10)
        return seen
      })
    )
    expect(seen.map((rows) => rows.length)).toEqual(Array.from({ length: 40 }, () => 1))
    await close()
  })

  it("stops beginning transactions in a group that has held the lock past its budget: the rest share the next commit", async () => {
    const { run, all, close } = await connections()
    await run((sql) =>
      Effect.gen(function* () {
        const before = countsOf(sql)
        // Each transaction keeps the lock a millisecond: ten in one group would hold it ten.
        const slow = (n: number) =>
          Effect.zipRight(
            insert(sql, n),
            Effect.sync(() => {
              const until = performance.now() + 1
              while (performance.now() < until) {}
            })
          )
        yield* Effect.forEach(
          Array.from({ length: 10 }, (_, index) => index + 1),
          (n) => DeliveryDatabase.withTransaction(sql, slow(n)),
          { concurrency: "unbounded" }
        )
        const after = countsOf(sql)
        expect(after.transactions - before.transactions).toBe(10)
        // A group takes two or three (2 ms), then commits: four commits at least, none lost.
        expect(after.commits - before.commits).toBeGreaterThanOrEqual(4)
      })
    )
    expect(await all()).toEqual(Array.from({ length: 10 }, (_, index) => index + 1))
    await close()
  })

  it("on delivery's worker, ends a group after each transaction while the adapter's thread waits for the lock", async () => {
    const database = await freshDatabase("sqlite")
    if (database.kind !== "sqlite") throw new Error("a SQLite file was expected")
    // This thread's connections to the file are the background ones, as delivery's worker's are.
    WriteTurns.adopt(database.filename, WriteTurns.share(database.filename))
    const worker = ManagedRuntime.make(DeliveryDatabase.layer(database))
    const run = <A>(use: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
      worker.runPromise(Effect.flatMap(SqlClient.SqlClient, use))
    await run((sql) => sql`CREATE TABLE rows (n INTEGER PRIMARY KEY)`)
    const together = (from: number) =>
      run((sql) =>
        Effect.gen(function* () {
          const before = countsOf(sql)
          yield* Effect.forEach(
            Array.from({ length: 10 }, (_, index) => from + index),
            (n) => DeliveryDatabase.withTransaction(sql, insert(sql, n)),
            { concurrency: "unbounded" }
          )
          return countsOf(sql).commits - before.commits
        })
      )
    await together(1)
    // Nobody waits: ten quick transactions share a commit or a few (each group has 2 ms).
    expect(await together(11)).toBeLessThanOrEqual(4)
    // The adapter's thread (foreground) waits for the lock: each group gives way after its first transaction (the
    // very first may have found two waiting).
    const adapter = WriteTurns.make(database.filename, "foreground")
    const waiting = Effect.runFork(adapter.awaitRelease(adapter.seen(), 60_000))
    expect(await together(21)).toBeGreaterThanOrEqual(8)
    adapter.done()
    await Effect.runPromise(Fiber.interrupt(waiting))
    const rows = await run((sql) => sql<{ n: number }>`SELECT n FROM rows ORDER BY n`)
    expect(rows.map((row) => row.n)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1))
    await worker.dispose()
  })

  it("rolls back a transaction that fails alone: the others of its group are committed, it gets its own error", async () => {
    const { run, all, close } = await connections()
    const outcomes = await run((sql) =>
      Effect.gen(function* () {
        return yield* Effect.forEach(
          [1, 2, 3, 4, 5],
          (n) =>
            DeliveryDatabase.withTransaction(
              sql,
              // The third writes its row, then fails: its row must not stay.
              n === 3 ? Effect.zipRight(insert(sql, n), Effect.fail(new Refused({ n }))) : insert(sql, n)
            ).pipe(
              Effect.as("committed"),
              Effect.catchTag("Refused", (error) => Effect.succeed(`refused ${error.n}`))
            ),
          { concurrency: "unbounded" }
        )
      })
    )
    expect(outcomes).toEqual(["committed", "committed", "refused 3", "committed", "committed"])
    expect(await all()).toEqual([1, 2, 4, 5])
    await close()
  })

  it("runs each transaction of a group with its own caller's services", async () => {
    const { run, all, close } = await connections()
    await run((sql) =>
      Effect.gen(function* () {
        // The group's fiber is started by the first caller: the others must still see their own.
        yield* Effect.forEach(
          [10, 20, 30],
          (label) =>
            DeliveryDatabase.withTransaction(
              sql,
              Effect.flatMap(Label, (n) => insert(sql, n))
            ).pipe(Effect.provideService(Label, label)),
          { concurrency: "unbounded" }
        )
      })
    )
    expect(await all()).toEqual([10, 20, 30])
    await close()
  })

  it("runs a transaction that finds no group in its caller's fiber, and those arriving meanwhile in the next group", async () => {
    const { run, all, close } = await connections()
    const fibers = await run((sql) =>
      Effect.gen(function* () {
        const before = countsOf(sql)
        const inside = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const alone = yield* Effect.fork(holding(sql, 1, inside, release, Effect.fiberId))
        yield* Deferred.await(inside)
        // These arrive while the first is being written: they wait, then share one commit.
        const later = yield* Effect.fork(
          Effect.forEach(
            [2, 3, 4],
            (n) => DeliveryDatabase.withTransaction(sql, Effect.zipRight(insert(sql, n), Effect.fiberId)),
            { concurrency: "unbounded" }
          )
        )
        yield* Effect.yieldNow()
        yield* Deferred.succeed(release, undefined)
        const first = yield* Fiber.join(alone)
        const others = yield* Fiber.join(later)
        const after = countsOf(sql)
        expect(after.transactions - before.transactions).toBe(4)
        expect(after.commits - before.commits).toBe(2)
        return { first, forked: alone.id(), others }
      })
    )
    // The first ran in the fiber that asked for it (the fork above), the others in a group's fiber of their own.
    expect(fibers.first).toEqual(fibers.forked)
    for (const other of fibers.others) expect(other).not.toEqual(fibers.forked)
    expect(await all()).toEqual([1, 2, 3, 4])
    await close()
  })

  it("writes one transaction waiting alone as a transaction of its own: failed, it is rolled back and gets its error", async () => {
    const { run, all, close } = await connections()
    const outcome = await run((sql) =>
      Effect.gen(function* () {
        const before = countsOf(sql)
        const inside = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const first = yield* Effect.fork(holding(sql, 1, inside, release))
        yield* Deferred.await(inside)
        // The only one waiting behind the first: it writes its row, then fails.
        const lone = yield* Effect.fork(
          DeliveryDatabase.withTransaction(
            sql,
            Effect.zipRight(insert(sql, 2), Effect.fail(new Refused({ n: 2 })))
          ).pipe(Effect.flip)
        )
        yield* Effect.yieldNow()
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(first)
        const refused = yield* Fiber.join(lone)
        // And the connection goes on: the next transaction is written.
        yield* DeliveryDatabase.withTransaction(sql, insert(sql, 3))
        const after = countsOf(sql)
        expect(after.commits - before.commits).toBe(2)
        return refused
      })
    )
    expect(outcome).toEqual(new Refused({ n: 2 }))
    expect(await all()).toEqual([1, 3])
    await close()
  })

  it("runs a transaction inside a transaction in place, as a savepoint of the outer one", async () => {
    const { run, all, close } = await connections()
    await run((sql) =>
      Effect.gen(function* () {
        yield* DeliveryDatabase.withTransaction(
          sql,
          Effect.gen(function* () {
            yield* insert(sql, 1)
            // Waiting for a group of its own would never end: the outer transaction holds the connection.
            yield* DeliveryDatabase.withTransaction(sql, insert(sql, 2))
            yield* DeliveryDatabase.withTransaction(sql, Effect.zipRight(insert(sql, 3), new Refused({ n: 3 }))).pipe(
              Effect.ignore
            )
          })
        ).pipe(Effect.timeout("5 seconds"))
      })
    )
    expect(await all()).toEqual([1, 2])
    await close()
  })

  it("drops the work of a caller interrupted before its group began, and goes on with the next", async () => {
    const { run, all, close } = await connections()
    await run((sql) =>
      Effect.gen(function* () {
        const inside = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // The first group holds the connection until released.
        const first = yield* Effect.fork(holding(sql, 1, inside, release))
        yield* Deferred.await(inside)
        const second = yield* Effect.fork(DeliveryDatabase.withTransaction(sql, insert(sql, 2)))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(second)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(first)
        yield* DeliveryDatabase.withTransaction(sql, insert(sql, 3)).pipe(Effect.timeout("5 seconds"))
      })
    )
    expect(await all()).toEqual([1, 3])
    await close()
  })
})
