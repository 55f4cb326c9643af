/** Load shapes: a fixed number of tasks, or as many as fit in a window, at a given concurrency. */

/** Runs `count` tasks, `concurrency` at a time; answers tasks per second. */
export const perSecond = async (
  count: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>
): Promise<number> => {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++)
    })
  )
  return count / ((performance.now() - started) / 1000)
}

/**
 * Starts tasks for `seconds`, `concurrency` at a time, and answers at the window's end how many were
 * started and how many failed so far (a failure is counted, not thrown). Tasks still under way are not
 * waited for: a client pacing itself may hold them for long; closing the client ends them.
 */
export const forWindow = async (
  seconds: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>
): Promise<{ readonly started: number; readonly failed: number; readonly errors: ReadonlyArray<unknown> }> => {
  const until = performance.now() + seconds * 1000
  let next = 0
  let failed = 0
  const errors: Array<unknown> = []
  const workers = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await task(next++).catch((error: unknown) => {
          if (performance.now() > until) return
          failed++
          errors.push(error)
        })
      }
    })
  )
  await Promise.race([workers, new Promise((resolve) => setTimeout(resolve, Math.max(0, until - performance.now())))])
  return { started: next, failed, errors: [...errors] }
}

/** Runs tasks for every index below `count`, `concurrency` at a time, counting failures rather than throwing. */
export const settleAll = async (
  count: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>
): Promise<{ readonly failed: number; readonly errors: ReadonlyArray<unknown> }> => {
  let next = 0
  const errors: Array<unknown> = []
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        await task(next++).catch((error: unknown) => void errors.push(error))
      }
    })
  )
  return { failed: errors.length, errors }
}
