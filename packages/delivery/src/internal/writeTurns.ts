/**
 * Turns at SQLite's write lock for the connections of one process to one file: an adapter's thread
 * (the foreground: it answers people) and delivery's worker thread (the background, see `DeliveryWorker`).
 *
 * Why: SQLite's write lock is not fair, and a connection that finds it taken can only try again later.
 * While delivery's worker delivers, it commits group after group with a few microseconds between them,
 * so the adapter's thread, trying again on a timer, waited about 10 ms for each of its commits (over a
 * second and a half of a ten-second benchmark run, every sender in the waiting batch with it). Here the
 * connections share a few words of memory: a write that ends wakes whoever waits at once (not at their
 * next timer), and the background connection, while a foreground one waits, ends its group of
 * transactions early and lets it go first (for a short while at most: a foreground thread busy elsewhere
 * does not stop delivery).
 *
 * Connections in other processes share nothing: there the waits are on timers, as before.
 */
import { resolve } from "node:path"
import * as Effect from "effect/Effect"

/** The count of writes ended (a connection waits for it to change). */
const released = 0
/** When a waiting foreground connection last tried for the lock (ms since the epoch), or 0. */
const foregroundWaiting = 0

/** How long the background connection lets a waiting foreground one go first, at most. */
const courtesyMs = 10
/**
 * A foreground connection that has not tried for this long is taken for one that gave up (its thread ended, say):
 * one that waits tries again every 8 ms at most.
 */
const staleMs = 100

// Node 20 has `Atomics.waitAsync`; the project's `lib` (ES2022) does not declare it.
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number
) => { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> }
const waitAsync = (Atomics as unknown as { readonly waitAsync: WaitAsync }).waitAsync

/** The shared words of each file this thread opened or was handed, by absolute path, and this thread's part. */
const files = new Map<string, { readonly buffer: SharedArrayBuffer; readonly background: boolean }>()

const key = (filename: string) => resolve(filename)

const fileOf = (filename: string) => {
  let file = files.get(key(filename))
  if (file === undefined) {
    file = { buffer: new SharedArrayBuffer(16), background: false }
    files.set(key(filename), file)
  }
  return file
}

/** The words shared by this process's connections to `filename`, to hand to a worker thread (see `adopt`). */
export const share = (filename: string): SharedArrayBuffer => fileOf(filename).buffer

/** In a worker thread, before it opens `filename`: the words its owner shares, and that this thread is the background. */
export const adopt = (filename: string, buffer: SharedArrayBuffer): void => {
  files.set(key(filename), { buffer, background: true })
}

export interface WriteTurns {
  /** The count of writes ended so far: read before a write is tried, waited on if it finds the lock taken. */
  readonly seen: () => number
  /** A write found the lock taken: waits until a write of this process ends, or `ms` at most. */
  readonly awaitRelease: (seen: number, ms: number) => Effect.Effect<void>
  /** A write got the lock, or gave up: this connection no longer waits. */
  readonly done: () => void
  /** A write ended (a commit, a rollback, a write outside a transaction): wakes whoever waits. */
  readonly release: () => void
  /** Before this connection begins a write transaction: the background one lets a waiting foreground one go first. */
  readonly courtesy: Effect.Effect<void>
  /** Whether this connection is the background one and a foreground one waits: a group of transactions ends early. */
  readonly giveWay: () => boolean
}

/** The turns of each client on SQLite (see `register`). */
const byClient = new WeakMap<object, WriteTurns>()

/** Remembers a client's turns, for the transaction groups written on it (see `transactionGroups`). */
export const register = (client: object, turns: WriteTurns): void => {
  byClient.set(client, turns)
}

/** The turns of a client on SQLite; undefined for others. */
export const of = (client: object): WriteTurns | undefined => byClient.get(client)

/**
 * A connection's turns at the lock of `filename`: in the background if its thread adopted the file's words
 * (`role` says otherwise, for tests).
 */
export const make = (filename: string, role?: "foreground" | "background"): WriteTurns => {
  const file = fileOf(filename)
  const buffer = file.buffer
  const background = role === undefined ? file.background : role === "background"
  const counts = new Int32Array(buffer, 0, 1)
  const since = new BigInt64Array(buffer, 8, 1)
  let waiting = false

  const wait = (seen: number, ms: number): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      const result = waitAsync(counts, released, seen, Math.max(0, ms))
      if (!result.async) return resume(Effect.void)
      let interrupted = false
      // A pending wait cannot be withdrawn; it ends by itself within `ms`.
      void result.value.then(() => {
        if (!interrupted) resume(Effect.void)
      })
      return Effect.sync(() => {
        interrupted = true
      })
    })

  /** When a foreground connection that still waits last tried, or undefined. */
  const foregroundWaits = () => {
    const waitingSince = Number(Atomics.load(since, foregroundWaiting))
    return waitingSince === 0 || Date.now() - waitingSince > staleMs ? undefined : waitingSince
  }

  return {
    seen: () => Atomics.load(counts, released),
    awaitRelease: (seen, ms) =>
      Effect.suspend(() => {
        if (!background) {
          waiting = true
          Atomics.store(since, foregroundWaiting, BigInt(Date.now()))
        }
        return wait(seen, ms)
      }),
    done: () => {
      if (!waiting) return
      waiting = false
      Atomics.store(since, foregroundWaiting, 0n)
    },
    release: () => {
      Atomics.add(counts, released, 1)
      Atomics.notify(counts, released)
    },
    courtesy: background
      ? Effect.suspend(() =>
          foregroundWaits() === undefined ? Effect.void : wait(Atomics.load(counts, released), courtesyMs)
        )
      : Effect.void,
    giveWay: () => background && foregroundWaits() !== undefined
  }
}
