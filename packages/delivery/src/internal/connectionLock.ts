/**
 * The lock on delivery's SQLite connection: a transaction has the connection to itself from `BEGIN` to its
 * end, across the awaits between its statements, and every other statement or transaction waits its turn.
 *
 * Why not Effect's `Semaphore`: a release there wakes every waiter, and all but one of them queue again.
 * Delivery's worker has tens of steps reading while a group of transactions writes (and waits for the disk),
 * and each group's end cost about twenty wake-ups a step read (a fifth of a delivered message's Effect
 * operations). Here the holder hands the lock to the next waiter only, in order, and taking a free lock is
 * no more than a check.
 */
import * as Effect from "effect/Effect"

export interface ConnectionLock {
  /** Waits for the lock and takes it; interrupted while waiting, it takes nothing. */
  readonly take: Effect.Effect<void>
  /** Hands the lock to the next waiter, or frees it. */
  readonly release: Effect.Effect<void>
  /** Whether someone holds the lock now. */
  readonly held: () => boolean
}

interface Waiter {
  granted: boolean
  wake?: () => void
}

export const make = (): ConnectionLock => {
  let held = false
  const waiting: Array<Waiter> = []

  const release = Effect.sync(() => {
    const next = waiting.shift()
    if (next === undefined) held = false
    else {
      next.granted = true
      next.wake?.()
    }
  })

  const take = Effect.suspend(() => {
    if (!held) {
      held = true
      return Effect.void
    }
    const waiter: Waiter = { granted: false }
    return Effect.async<void>((resume) => {
      waiter.wake = () => resume(Effect.void)
      waiting.push(waiter)
      // Interrupted while waiting: out of the line.
      return Effect.sync(() => {
        const index = waiting.indexOf(waiter)
        if (index >= 0) waiting.splice(index, 1)
      })
    }).pipe(
      // Handed the lock and interrupted before it could use it: it goes to the next.
      Effect.onInterrupt(() => (waiter.granted ? release : Effect.void))
    )
  })

  return { take, release, held: () => held }
}
