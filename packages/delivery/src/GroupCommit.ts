/**
 * Group commit: the requests that arrive while a commit is being written, or in the same turn of the
 * event loop (a burst of webhook bodies, a `getUpdates` batch handed to its handlers together), are
 * written by one `write` (one transaction, one fsync), and each caller is answered when the commit that
 * holds its request is done, never before. Under load the batches grow by themselves (one commit at a
 * time; what arrives meanwhile makes the next one); under a trickle, a request waits at most
 * `gatherMs` for company. Adapters use it to accept work durably at the rate of their input.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * @since 0.1.0
 * @category models
 */
export interface GroupCommit<I, O, E> {
  /** Queues a request; `done` is called once, with its own result, after its commit. */
  readonly submit: (item: I, done: (exit: Exit.Exit<O, E>) => void) => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, E, R>(options: {
  /** Writes a batch; answers one result per request, in order. */
  readonly write: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>
  /** Runs an effect and calls back with its exit. */
  readonly run: (
    effect: Effect.Effect<ReadonlyArray<O>, E, R>,
    onExit: (exit: Exit.Exit<ReadonlyArray<O>, E>) => void
  ) => void
  /** The most requests in one commit. */
  readonly maxBatch: number
  /**
   * The least time between the starts of two commits, unless `maxBatch / 8` requests wait: under a
   * trickle, a few share a commit (and its fsync) instead of one fsync each.
   */
  readonly gatherMs: number
}): GroupCommit<I, O, E> => {
  let waiting: Array<{ readonly item: I; readonly done: (exit: Exit.Exit<O, E>) => void }> = []
  let writing = false
  let scheduled = false
  let lastStart = 0
  const enough = Math.max(1, Math.floor(options.maxBatch / 8))

  const flush = () => {
    scheduled = false
    if (writing || waiting.length === 0) return
    const batch = waiting.length <= options.maxBatch ? waiting : waiting.slice(0, options.maxBatch)
    waiting = batch === waiting ? [] : waiting.slice(options.maxBatch)
    writing = true
    lastStart = performance.now()
    options.run(options.write(batch.map((entry) => entry.item)), (exit) => {
      writing = false
      for (const [index, entry] of batch.entries()) {
        try {
          entry.done(Exit.isSuccess(exit) ? Exit.succeed(exit.value[index] as O) : (exit as Exit.Exit<never, E>))
        } catch (error) {
          // A caller's failure must not keep the others from their answers: surface it on its own.
          process.nextTick(() => {
            throw error
          })
        }
      }
      schedule()
    })
  }

  // setImmediate, not a microtask: what is already in the socket buffers (request bodies, the updates
  // of one `getUpdates` batch) reaches its handlers over several microtask turns, and joins this commit.
  const schedule = () => {
    if (scheduled || writing || waiting.length === 0) return
    scheduled = true
    const wait = lastStart + options.gatherMs - performance.now()
    if (wait <= 0 || waiting.length >= enough) setImmediate(flush)
    else setTimeout(flush, wait)
  }

  return {
    submit: (item, done) => {
      waiting.push({ item, done })
      schedule()
    }
  }
}
