/**
 * Durable commits without holding the thread still. With `synchronous = FULL` SQLite syncs the
 * write-ahead log to disk inside every COMMIT: the thread that commits (an adapter's, answering people)
 * stops for the disk, 25-35 us an update of the Telegram relay's here, and far more on a busy cloud
 * disk. With `synchronous = NORMAL` a commit only writes the log, and this module then syncs it in
 * libuv's thread pool: the commit's statement is answered once the log holding it is on disk, as FULL
 * would answer it, and the thread runs other work meanwhile. What FULL adds to NORMAL in WAL mode is
 * exactly that sync of the log after each commit (https://sqlite.org/pragma.html#pragma_synchronous);
 * checkpoints still sync the log and the database themselves.
 *
 * One difference: another connection may read a commit before it is on disk. A power cut then can
 * take back a row someone read, never one whose writer was answered.
 *
 * Syncs are shared: the commits that end while a sync runs wait for the next one (one that began
 * before their commit may not hold it), and one sync answers them all.
 */
import * as fs from "node:fs"
import { dirname } from "node:path"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

/** The file operations a sync needs (node:fs's; a test slows or fails them). */
export interface Files {
  readonly open: (path: string, flags: string, callback: (error: Error | null, fd: number) => void) => void
  readonly fdatasync: (fd: number, callback: (error: Error | null) => void) => void
  readonly fsync: (fd: number, callback: (error: Error | null) => void) => void
  readonly close: (fd: number, callback: (error: Error | null) => void) => void
}

export interface WalSync {
  /** Succeeds once everything this connection committed before it was asked for is on disk. */
  readonly durable: Effect.Effect<void, SqlError>
  /** Closes the log's descriptor (after the connection), once a sync still running has ended. */
  readonly close: () => void
}

type Done = (error: Error | null) => void

const isMissing = (error: Error) => (error as NodeJS.ErrnoException).code === "ENOENT"

/** The log of the database at `filename` (it exists once the connection is in WAL mode). */
export const make = (filename: string, files: Files = fs): WalSync => {
  const walPath = `${filename}-wal`
  let fd: number | undefined
  let closed = false
  let syncing = false
  // Commits that ended since the running sync began: the next sync answers them.
  let waiting: Array<Done> = []

  // Once, before the first sync: the log's directory entry too, as SQLite does for a log it created.
  const opened = (callback: (error: Error | null, fd: number | undefined) => void) => {
    if (fd !== undefined) return callback(null, fd)
    files.open(dirname(walPath), "r", (dirError, dir) => {
      if (dirError !== null) return callback(dirError, -1)
      files.fsync(dir, (syncError) => {
        files.close(dir, () => undefined)
        if (syncError !== null) return callback(syncError, -1)
        files.open(walPath, "r", (error, log) => {
          // No log yet (the statements so far wrote nothing, a `PRAGMA` say): nothing to make durable.
          if (error !== null && isMissing(error)) return callback(null, undefined)
          if (error === null) fd = log
          callback(error, log)
        })
      })
    })
  }

  const release = () => {
    if (fd !== undefined) files.close(fd, () => undefined)
    fd = undefined
  }

  const start = () => {
    const batch = waiting
    waiting = []
    syncing = true
    const done = (error: Error | null) => {
      syncing = false
      for (const answer of batch) answer(error)
      if (waiting.length > 0) start()
      else if (closed) release()
    }
    opened((error, log) => (error !== null ? done(error) : log === undefined ? done(null) : files.fdatasync(log, done)))
  }

  const durable = Effect.async<void, SqlError>((resume) => {
    if (closed) return resume(Effect.fail(new SqlError({ message: "The database is closed" })))
    waiting.push((error) =>
      resume(
        error === null
          ? Effect.void
          : Effect.fail(new SqlError({ cause: error, message: "Failed to make the commit durable" }))
      )
    )
    if (!syncing) start()
  })

  const close = () => {
    closed = true
    if (!syncing) release()
  }

  return { durable, close }
}
