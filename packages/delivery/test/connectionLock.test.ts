import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as ConnectionLock from "../src/internal/connectionLock.js"

/** Takes the lock, notes its name, holds it until `go`, and lets it go whatever happens. */
const user = (
  lock: ConnectionLock.ConnectionLock,
  name: string,
  order: Array<string>,
  go: Deferred.Deferred<void> = Deferred.unsafeMake(undefined as never)
) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.zipRight(
      restore(lock.take),
      Effect.ensuring(
        Effect.zipRight(
          Effect.sync(() => order.push(name)),
          restore(Deferred.await(go))
        ),
        lock.release
      )
    )
  )

describe("the SQLite connection's lock", () => {
  it.effect("is handed to the waiters one at a time, in the order they came", () =>
    Effect.gen(function* () {
      const lock = ConnectionLock.make()
      const order: Array<string> = []
      const gates = yield* Effect.forEach(["a", "b", "c", "d"], () => Deferred.make<void>())
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      for (const [index, name] of ["a", "b", "c", "d"].entries()) {
        fibers.push(yield* Effect.fork(user(lock, name, order, gates[index])))
        yield* Effect.yieldNow()
      }
      expect(order).toEqual(["a"])
      for (const [index] of gates.entries()) {
        yield* Deferred.succeed(gates[index]!, undefined)
        yield* Fiber.join(fibers[index]!)
        // Each release wakes the next waiter only.
        expect(order.length).toBe(Math.min(4, index + 2))
      }
      expect(order).toEqual(["a", "b", "c", "d"])
      expect(lock.held()).toBe(false)
    })
  )

  it.effect("skips a waiter interrupted in line, and is not lost to one interrupted as it was handed the lock", () =>
    Effect.gen(function* () {
      const lock = ConnectionLock.make()
      const order: Array<string> = []
      const first = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(user(lock, "holder", order, first))
      yield* Effect.yieldNow()
      const gone = yield* Effect.fork(user(lock, "gone", order))
      const handed = yield* Effect.fork(user(lock, "handed", order))
      const last = yield* Effect.fork(user(lock, "last", order, Deferred.unsafeMake(undefined as never)))
      yield* Effect.yieldNow()
      // In line: leaves it.
      yield* Fiber.interrupt(gone)
      // Handed the lock by the holder's release, interrupted before it runs: passes it on.
      yield* Deferred.succeed(first, undefined)
      yield* Fiber.interruptFork(handed)
      yield* Fiber.join(holder)
      yield* Fiber.await(handed)
      yield* Effect.yieldNow()
      expect(order).not.toContain("gone")
      expect(order[order.length - 1]).toBe("last")
      expect(lock.held()).toBe(true)
      yield* Fiber.interrupt(last)
      expect(lock.held()).toBe(false)
    })
  )
})
