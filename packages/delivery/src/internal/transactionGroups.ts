/**
 * Group commit for transactions on SQLite: transactions that reach a connection while another group
 * is being written wait for the next group, and a group is one `BEGIN ... COMMIT` (one write of the
 * WAL, one fsync) with each transaction in a savepoint of its own, so that one that fails rolls back
 * alone. Every caller is answered after the commit that holds its work, never before.
 *
 * Why: delivery's worker wrote about five commits a message (the recipient's claim, the `sending`
 * save, the `sent` save, the recorded send, the admission place given back), each with its fsync;
 * those of the messages one portal call carries arrive together and now share commits. The write
 * lock an adapter's thread waits for is taken a few times a call instead of five times a message. A
 * group stops beginning transactions after `groupBudgetMs` with the lock, or at once on delivery's worker
 * when the adapter's thread waits for it (see `writeTurns`), so that the other may have it.
 *
 * A transaction that finds no group being written and none waiting is a group of its own, run in its
 * caller's fiber; the others run in the group's fiber, with their callers' services. A caller already
 * inside a transaction runs its work in place (a savepoint of that one). A caller interrupted while
 * its work waits takes it out of the queue; once a group has begun it, it is committed with the group.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as WriteTurns from "./writeTurns.js"

/** The most transactions in one group: a group holds the write lock, which the other connection may wait for. */
const maxGroup = 64
/**
 * A group begins no further transaction once it has held the write lock this long: the rest wait for the next group,
 * and the other connection may take its turn between the two (see `writeTurns`). Delivery's worker, delivering,
 * held the lock 10-60 ms at a time with full groups, and an adapter's thread waited that long to store a batch.
 */
const groupBudgetMs = 2

interface Waiting {
  readonly work: Effect.Effect<unknown, unknown>
  readonly done: Deferred.Deferred<Exit.Exit<unknown, unknown>>
  started: boolean
  /** Its caller was interrupted before a group began it: no group will. */
  withdrawn: boolean
}

interface Groups {
  readonly queue: Array<Waiting>
  writing: boolean
  /** Commits written, for tests and benchmarks. */
  commits: number
  /** Transactions committed. */
  transactions: number
}

/** One queue per client (per connection, on SQLite). */
const byClient = new WeakMap<SqlClient.SqlClient, Groups>()

const groupsOf = (sql: SqlClient.SqlClient): Groups => {
  let groups = byClient.get(sql)
  if (groups === undefined) {
    groups = { queue: [], writing: false, commits: 0, transactions: 0 }
    byClient.set(sql, groups)
  }
  return groups
}

/**
 * Runs `effect` in a transaction of `sql` that shares its commit with those waiting beside it.
 * `transaction` begins and commits a whole group (a transaction of its own, as `sql.withTransaction`).
 */
export const grouped = <A, E, R>(
  sql: SqlClient.SqlClient,
  transaction: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y | SqlError, Z>,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      if (Option.isSome(yield* Effect.serviceOption(SqlClient.TransactionConnection))) {
        return yield* restore(sql.withTransaction(effect))
      }
      const groups = groupsOf(sql)
      // Alone (no group written, none waiting): a group of its own, begun and committed in its caller's fiber, with
      // no fiber forked and no answer handed over (an adapter's batch of 30 messages stored 7 µs a message faster).
      // Those that arrive meanwhile wait for the next group, as they would behind any group.
      if (!groups.writing && groups.queue.length === 0) {
        groups.writing = true
        const exit = yield* Effect.exit(transaction(effect))
        if (Exit.isSuccess(exit)) {
          groups.commits++
          groups.transactions++
        }
        if (groups.queue.length > 0) yield* Effect.forkDaemon(write(sql, groups, transaction))
        else groups.writing = false
        return yield* exit
      }
      const context = yield* Effect.context<R>()
      const waiting: Waiting = {
        // The group's fiber brings the transaction's connection (its savepoint's); the caller, everything else.
        work: Effect.mapInputContext(effect, (group: Context.Context<never>) =>
          Option.match(Context.getOption(group, SqlClient.TransactionConnection), {
            onNone: () => context,
            onSome: (connection) => Context.add(context, SqlClient.TransactionConnection, connection)
          })
        ),
        done: yield* Deferred.make<Exit.Exit<unknown, unknown>>(),
        started: false,
        withdrawn: false
      }
      groups.queue.push(waiting)
      if (!groups.writing) {
        groups.writing = true
        yield* Effect.forkDaemon(write(sql, groups, transaction))
      }
      const exit = yield* restore(Deferred.await(waiting.done)).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            if (waiting.started) return
            waiting.withdrawn = true
            const index = groups.queue.indexOf(waiting)
            if (index >= 0) groups.queue.splice(index, 1)
          })
        )
      )
      return yield* exit as Exit.Exit<A, E | SqlError>
    })
  )

/** Writes groups while transactions wait, then stops (the next transaction starts it again). */
const write = (
  sql: SqlClient.SqlClient,
  groups: Groups,
  transaction: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y | SqlError, Z>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (groups.queue.length === 0) {
      groups.writing = false
      return Effect.void
    }
    const queued = groups.queue.splice(0, maxGroup)
    // One alone is a transaction of its own: no savepoint to keep it apart from others.
    const only = queued.length === 1 ? queued[0]! : undefined
    if (only !== undefined && !only.withdrawn) {
      only.started = true
      return Effect.exit(transaction(only.work)).pipe(
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) {
            groups.commits++
            groups.transactions++
          }
          return Deferred.succeed(only.done, exit)
        }),
        Effect.onInterrupt(() =>
          Effect.zipRight(
            Effect.sync(() => {
              groups.writing = false
            }),
            Deferred.interrupt(only.done)
          )
        ),
        Effect.zipRight(Effect.suspend(() => write(sql, groups, transaction)))
      )
    }
    const turns = WriteTurns.of(sql)
    // The transactions this group began; past its budget, the rest go back to the head of the queue, not begun.
    const group: Array<Waiting> = []
    const exits: Array<Exit.Exit<unknown, unknown>> = []
    let ran = false
    // Each in a savepoint (a transaction inside the group's): one that fails is rolled back alone.
    const next = (index: number, began: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const waiting = queued[index]
        if (waiting === undefined) return Effect.void
        if (waiting.withdrawn) return next(index + 1, began)
        if (group.length > 0 && (performance.now() - began > groupBudgetMs || turns?.giveWay() === true)) {
          groups.queue.unshift(...queued.slice(index))
          return Effect.void
        }
        waiting.started = true
        group.push(waiting)
        return Effect.zipRight(
          Effect.map(Effect.exit(sql.withTransaction(waiting.work)), (exit) => void exits.push(exit)),
          next(index + 1, began)
        )
      })
    const body = Effect.suspend(() => {
      ran = true
      return next(0, performance.now())
    })
    // A group that never began (its `BEGIN` failed) answers every transaction it took with that failure.
    const answered = () => (ran ? group : queued.filter((waiting) => !waiting.withdrawn))
    return Effect.exit(transaction(body)).pipe(
      Effect.flatMap((committed) => {
        if (Exit.isSuccess(committed)) {
          groups.commits++
          groups.transactions += group.length
        }
        return Effect.forEach(
          answered(),
          (waiting, index) => Deferred.succeed(waiting.done, Exit.isSuccess(committed) ? exits[index]! : committed),
          { discard: true }
        )
      }),
      // A daemon is interrupted by nobody; should it be, its callers are not left waiting, and the next starts another.
      Effect.onInterrupt(() =>
        Effect.zipRight(
          Effect.sync(() => {
            groups.writing = false
          }),
          Effect.forEach(answered(), (waiting) => Deferred.interrupt(waiting.done), { discard: true })
        )
      ),
      Effect.zipRight(Effect.suspend(() => write(sql, groups, transaction)))
    )
  })

/** How many commits and transactions went through `grouped` on this client so far. */
export const countsOf = (sql: SqlClient.SqlClient): { readonly commits: number; readonly transactions: number } => {
  const groups = groupsOf(sql)
  return { commits: groups.commits, transactions: groups.transactions }
}
