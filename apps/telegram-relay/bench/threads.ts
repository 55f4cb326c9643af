/**
 * Where a round's time went, thread by thread (Linux, from /proc): how long each of this process's
 * threads ran, and how long it was ready to run but waited for a core. On a machine with few cores
 * the relay's thread shares them with delivery's worker and V8's own threads (garbage collection,
 * compilation): its waits say how much of a rate was the machine's, not the relay's.
 */
import { readdirSync, readFileSync } from "node:fs"

interface Times {
  /** Milliseconds on a core. */
  readonly ran: number
  /** Milliseconds ready to run, waiting for a core. */
  readonly waited: number
}

export interface ThreadTimes {
  /** The main thread (the relay's, or the bare bot's). */
  readonly main: Times
  /** Every other thread of the process together. */
  readonly others: Times
}

const readThreads = (): ReadonlyMap<string, Times> | undefined => {
  try {
    return new Map(
      readdirSync("/proc/self/task").map((id) => {
        // schedstat: nanoseconds on a core, nanoseconds waiting on a run queue, time slices.
        const [ran, waited] = readFileSync(`/proc/self/task/${id}/schedstat`, "utf8").split(" ").map(Number)
        return [id, { ran: (ran ?? 0) / 1e6, waited: (waited ?? 0) / 1e6 }] as const
      })
    )
  } catch {
    // Not Linux (or no scheduler statistics): nothing to say.
    return undefined
  }
}

/** Starts counting; the function returned gives the times since (undefined where /proc cannot tell). */
export const countThreads = (): (() => ThreadTimes | undefined) => {
  const before = readThreads()
  return () => {
    const after = readThreads()
    if (before === undefined || after === undefined) return undefined
    const main = String(process.pid)
    let others = { ran: 0, waited: 0 }
    let mainTimes = { ran: 0, waited: 0 }
    for (const [id, now] of after) {
      const then = before.get(id) ?? { ran: 0, waited: 0 }
      const spent = { ran: now.ran - then.ran, waited: now.waited - then.waited }
      if (id === main) mainTimes = spent
      else others = { ran: others.ran + spent.ran, waited: others.waited + spent.waited }
    }
    return { main: mainTimes, others }
  }
}
