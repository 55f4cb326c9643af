/**
 * Reports that outlive a restart: the relay answers a message as soon as delivery has accepted it,
 * and tells the sender later how it ended. Each outbox entry it still has to report on is a row in
 * `linecast_telegram_reports` (the entry's id, the chat and the message to reply to, the recipient's
 * name, what the sender was last told); the outbox entry itself holds the outcome.
 *
 * A watcher reads the rows in pages (by entry id) every `pollMs`, reads each entry, and when it is
 * settled (sent, merged, dead) or newly deferred, sends the report. A report is claimed before it is
 * sent (a conditional `UPDATE` to `reporting`), so it is never sent twice: a row is deleted after
 * its final report, or goes back to what it was when Telegram refused it for now. A crash between
 * the claim and the send can lose that one report (never duplicate it): such rows are dropped, with
 * a warning, at the next start.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Outbox } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import type { Outcome } from "./Outcome.js"
import { fromEntry, isSettled, reportWords } from "./Outcome.js"

/**
 * What the sender was last told: `waiting` (queued, or being checked), `deferred` (the weekly
 * window), or `reporting` (a report is being sent).
 *
 * @since 0.1.0
 * @category models
 */
export type Told = "waiting" | "deferred" | "reporting"

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly entryId: string
  readonly chatId: number
  /** The message the report replies to. */
  readonly messageId: number
  /** The recipient's name, as the sender used it. */
  readonly to: string
  readonly told: Told
}

/**
 * Telegram did not take a report: `permanent` (the chat is gone, the bot was blocked) drops it,
 * anything else is tried again at the next poll.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportFailure {
  readonly permanent: boolean
  readonly message: string
}

interface Row {
  readonly entry_id: string
  readonly chat_id: number | string
  readonly message_id: number | string
  readonly recipient: string
  readonly told: string
}

const toReport = (row: Row): Report => ({
  entryId: row.entry_id,
  chatId: Number(row.chat_id),
  messageId: Number(row.message_id),
  to: row.recipient,
  told: row.told as Told
})

/**
 * Creates the table when missing (SQLite and PostgreSQL alike).
 *
 * @since 0.1.0
 * @category constructors
 */
export const migrate: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`CREATE TABLE IF NOT EXISTS linecast_telegram_reports (
    entry_id TEXT PRIMARY KEY,
    chat_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    told TEXT NOT NULL,
    created_at BIGINT NOT NULL
  )`
).pipe(Effect.asVoid)

/**
 * Remembers to report on an entry; a second registration of the same entry (a re-delivered
 * update) changes nothing.
 *
 * @since 0.1.0
 * @category reports
 */
export const register = (report: Omit<Report, "told"> & { readonly told: "waiting" | "deferred" }) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`INSERT INTO linecast_telegram_reports (entry_id, chat_id, message_id, recipient, told, created_at)
      VALUES (${report.entryId}, ${report.chatId}, ${report.messageId}, ${report.to}, ${report.told}, ${Date.now()})
      ON CONFLICT (entry_id) DO NOTHING`
  ).pipe(Effect.asVoid)

/**
 * The reports still owed, in entry-id order after `after`.
 *
 * @since 0.1.0
 * @category reports
 */
export const pending = (
  after: string,
  limit: number
): Effect.Effect<ReadonlyArray<Report>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<Row>`SELECT entry_id, chat_id, message_id, recipient, told FROM linecast_telegram_reports
      WHERE told <> 'reporting' AND entry_id > ${after} ORDER BY entry_id LIMIT ${limit}`
  ).pipe(Effect.map((rows) => rows.map(toReport)))

const claim = (report: Report) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ entry_id: string }>`UPDATE linecast_telegram_reports SET told = 'reporting'
      WHERE entry_id = ${report.entryId} AND told = ${report.told} RETURNING entry_id`
  ).pipe(Effect.map((rows) => rows.length === 1))

const setTold = (entryId: string, told: Told) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`UPDATE linecast_telegram_reports SET told = ${told} WHERE entry_id = ${entryId}`
  ).pipe(Effect.asVoid)

const remove = (entryId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`DELETE FROM linecast_telegram_reports WHERE entry_id = ${entryId}`
  ).pipe(Effect.asVoid)

/**
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions {
  readonly pollMs: number
  readonly pageSize: number
  /** Sends a report as a reply to the sender's message (grammY's auto-retry inside). */
  readonly send: (report: Report, text: string) => Effect.Effect<void, ReportFailure>
  readonly log: (level: "info" | "warning" | "error", message: string) => void
}

/**
 * What to do for one report, given the entry's outcome: the report's text and what the row
 * becomes after it (`undefined`: deleted), or nothing yet.
 */
const next = (
  report: Report,
  outcome: Outcome
): { readonly text: string; readonly after: Told | undefined } | undefined => {
  const text = reportWords(outcome)
  if (text === undefined) return undefined
  if (isSettled(outcome)) return { text, after: undefined }
  // Deferred after an answer that said "queued": told once; the final report still follows.
  if (outcome._tag === "Deferred" && report.told === "waiting") return { text, after: "deferred" }
  return undefined
}

/** Checks one report and sends it if its entry has moved on; never interrupted half-way. */
const checkOne = (report: Report, options: WatchOptions) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.Outbox
    const entry = yield* outbox.get(report.entryId).pipe(
      Effect.map((found) => found as typeof found | undefined),
      Effect.catchTag("EntryNotFoundError", () => Effect.succeed(undefined))
    )
    // Purged by an operator: nothing left to tell.
    if (entry === undefined) return yield* remove(report.entryId)
    const step = next(report, fromEntry(report.to, entry))
    if (step === undefined) return
    if (!(yield* claim(report))) return
    const done = yield* options.send(report, step.text).pipe(
      Effect.as(true),
      Effect.catchAll((failure) => {
        options.log(
          "warning",
          `could not report on entry ${report.entryId} to chat ${report.chatId}${failure.permanent ? ", giving up" : ", trying again later"}: ${failure.message}`
        )
        return Effect.succeed(failure.permanent)
      })
    )
    if (!done) return yield* setTold(report.entryId, report.told)
    return yield* step.after === undefined ? remove(report.entryId) : setTold(report.entryId, step.after)
  }).pipe(Effect.uninterruptible)

/**
 * Sends the reports owed, forever (forked in the relay's scope). Rows left `reporting` by a crash
 * are dropped first: their report may have gone out, and one report too few beats one too many.
 *
 * @since 0.1.0
 * @category reports
 */
export const watch = (options: WatchOptions): Effect.Effect<never, never, Outbox.Outbox | SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const dropped = yield* sql<{ entry_id: string }>`DELETE FROM linecast_telegram_reports
      WHERE told = 'reporting' RETURNING entry_id`.pipe(Effect.orElseSucceed(() => []))
    for (const row of dropped) {
      options.log("warning", `a report on entry ${row.entry_id} may not have been sent before the last stop`)
    }
    const sweep = Effect.gen(function* () {
      let after = ""
      while (true) {
        const page = yield* pending(after, options.pageSize)
        for (const report of page) {
          yield* checkOne(report, options).pipe(
            Effect.catchAll((error) =>
              Effect.sync(() =>
                options.log("warning", `report on entry ${report.entryId} not checked: ${error.message}`)
              )
            )
          )
        }
        if (page.length < options.pageSize) return
        after = page[page.length - 1]!.entryId
      }
    }).pipe(Effect.catchAll((error) => Effect.sync(() => options.log("warning", `reports not read: ${error.message}`))))
    while (true) {
      yield* sweep
      yield* Effect.sleep(options.pollMs)
    }
  })
