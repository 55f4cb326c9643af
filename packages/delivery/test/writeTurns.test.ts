import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as WriteTurns from "../src/internal/writeTurns.js"
import { freshDatabase } from "./harness.js"

const fileOf = async () => {
  const database = await freshDatabase("sqlite")
  if (database.kind !== "sqlite") throw new Error("a SQLite file was expected")
  return database.filename
}

/** A few turns of the event loop, with no timer: long enough for anything ready to finish. */
const turns = Effect.forEach([1, 2, 3, 4, 5], () => Effect.yieldNow(), { discard: true })

describe("turns at SQLite's write lock", () => {
  it.effect("wakes a connection waiting for the lock as soon as another of this process ends a write", () =>
    Effect.gen(function* () {
      const filename = yield* Effect.promise(fileOf)
      const waiting = WriteTurns.make(filename, "foreground")
      const writing = WriteTurns.make(filename, "foreground")
      // Its timer alone would keep it waiting a minute: only the release can end the wait within the test.
      const wait = yield* Effect.fork(waiting.awaitRelease(waiting.seen(), 60_000))
      yield* turns
      expect(wait.unsafePoll()).toBeNull()
      writing.release()
      yield* Fiber.join(wait).pipe(Effect.timeout("5 seconds"))
    })
  )

  it.effect("does not wait when a write ended since the count was read", () =>
    Effect.gen(function* () {
      const filename = yield* Effect.promise(fileOf)
      const waiting = WriteTurns.make(filename, "foreground")
      const seen = waiting.seen()
      WriteTurns.make(filename, "foreground").release()
      yield* waiting.awaitRelease(seen, 60_000).pipe(Effect.timeout("5 seconds"))
    })
  )

  it.effect("lets a waiting foreground connection go first: the background one begins after its write ends", () =>
    Effect.gen(function* () {
      const filename = yield* Effect.promise(fileOf)
      const foreground = WriteTurns.make(filename, "foreground")
      const background = WriteTurns.make(filename, "background")
      // Nobody waits: the background connection begins at once.
      const alone = yield* Effect.fork(background.courtesy)
      yield* turns
      expect(alone.unsafePoll()).not.toBeNull()
      // The foreground connection found the lock taken (the background's) and waits for it.
      const waits = yield* Effect.fork(foreground.awaitRelease(foreground.seen(), 60_000))
      yield* turns
      // The background commits: the foreground is woken, and the background's next write waits for it.
      background.release()
      yield* Fiber.join(waits).pipe(Effect.timeout("5 seconds"))
      const courteous = yield* Effect.fork(background.courtesy)
      yield* turns
      expect(courteous.unsafePoll()).toBeNull()
      // The foreground takes the lock (done waiting), writes, and commits: the background goes on.
      foreground.done()
      foreground.release()
      yield* Fiber.join(courteous).pipe(Effect.timeout("5 seconds"))
      // No foreground waits any more: the background begins at once again.
      const after = yield* Effect.fork(background.courtesy)
      yield* turns
      expect(after.unsafePoll()).not.toBeNull()
    })
  )

  it.effect("stops letting a foreground connection go first once it has not tried for a while (its thread ended)", () =>
    Effect.gen(function* () {
      const filename = yield* Effect.promise(fileOf)
      const foreground = WriteTurns.make(filename, "foreground")
      const background = WriteTurns.make(filename, "background")
      // It found the lock taken, and was never heard from again.
      yield* Effect.fork(foreground.awaitRelease(foreground.seen(), 1))
      yield* turns
      expect(background.giveWay()).toBe(true)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 150)))
      expect(background.giveWay()).toBe(false)
      const courteous = yield* Effect.fork(background.courtesy)
      yield* turns
      expect(courteous.unsafePoll()).not.toBeNull()
    })
  )
})
