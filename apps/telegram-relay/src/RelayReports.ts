/**
 * Reports that outlive a restart: the relay answers a message as soon as delivery has accepted it,
 * and tells the sender later how it ended. Each outbox entry it still has to report on is a row in
 * `linecast_telegram_reports` (the entry's id, the chat and the message to reply to, the recipient's
 * name, what the sender was last told); the outbox entry itself holds the outcome.
 *
 * Rows are registered together for the updates that arrived together (one statement, one commit).
 * A watcher looks every `pollMs` at the rows of the entries delivery saved since its last look (the
 * outbox's `changes`: this process's delivery, its worker thread included), and every
 * `sweepEvery`-th time (and at the start) at all the rows, in pages by entry id: what another
 * process's runner did, and anything a hint missed. Of the entries it looks at, it reads those that
 * have moved on (settled: sent, merged, dead; or newly deferred) in one query, and sends their
 * reports, a few messages at a time (different chats at once, one chat's in order); the reports a
 * chat has ready together go in one message (up to 20). Reading every row at every look cost the
 * relay's thread more than storing once thousands of entries waited for the portal. A report is
 * claimed before it is sent (a conditional `UPDATE` to `reporting`), so it is never sent twice: a row
 * is deleted after its final report, or goes back to what it was when Telegram refused it for now. A
 * crash between the claim and the send can lose the reports being sent (never duplicate them): such
 * rows are dropped, with a warning, at the next start.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { OutboxEntry } from "@linecast/delivery"
import { DeliveryDatabase, Outbox } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
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
 * anything else is tried again at the next look.
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
 * A report to remember: told `waiting` or `deferred` so far.
 *
 * @since 0.1.0
 * @category models
 */
export type NewReport = Omit<Report, "told"> & { readonly told: "waiting" | "deferred" }

/**
 * Remembers to report on an entry; a second registration of the same entry (a re-delivered
 * update) changes nothing.
 *
 * @since 0.1.0
 * @category reports
 */
export const register = (report: NewReport): Effect.Effect<void, SqlError, SqlClient.SqlClient> => registerAll([report])

/** Rows per `INSERT` (parameters per statement are bounded). */
const registerChunk = 100

/**
 * `register` for several entries in one commit (one statement per hundred).
 *
 * @since 0.1.0
 * @category reports
 */
export const registerAll = (reports: ReadonlyArray<NewReport>): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    if (reports.length === 0) return
    const sql = yield* SqlClient.SqlClient
    const now = Date.now()
    // The same entry twice (one update delivered twice at once): the first registration holds.
    const first = new Map<string, NewReport>()
    for (const report of reports) if (!first.has(report.entryId)) first.set(report.entryId, report)
    const unique = [...first.values()]
    const insert = (chunk: ReadonlyArray<NewReport>) =>
      sql`INSERT INTO linecast_telegram_reports ${sql.insert(
        chunk.map((report) => ({
          entry_id: report.entryId,
          chat_id: report.chatId,
          message_id: report.messageId,
          recipient: report.to,
          told: report.told,
          created_at: now
        }))
      )} ON CONFLICT (entry_id) DO NOTHING`
    if (unique.length <= registerChunk) return yield* Effect.asVoid(insert(unique))
    yield* DeliveryDatabase.withTransaction(
      sql,
      Effect.forEach(
        Array.from({ length: Math.ceil(unique.length / registerChunk) }, (_, index) =>
          unique.slice(index * registerChunk, (index + 1) * registerChunk)
        ),
        insert,
        { discard: true }
      )
    )
  })

/**
 * The reports still owed, in entry-id order after `after`, at most `limit`.
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

/**
 * The reports still owed on these entries (none for an entry that is not the relay's), in entry-id order.
 *
 * @since 0.1.0
 * @category reports
 */
export const pendingOn = (
  entryIds: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Report>, SqlError, SqlClient.SqlClient> =>
  entryIds.length === 0
    ? Effect.succeed([])
    : Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<Row>`SELECT entry_id, chat_id, message_id, recipient, told FROM linecast_telegram_reports
      WHERE told <> 'reporting' AND ${sql.in("entry_id", entryIds)} ORDER BY entry_id`
      ).pipe(Effect.map((rows) => rows.map(toReport)))

/** Claims the reports still as they were read; answers the entry ids claimed. */
const claimAll = (reports: ReadonlyArray<Report>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const claimed = new Set<string>()
    for (const told of ["waiting", "deferred"] as const) {
      const ids = reports.filter((report) => report.told === told).map((report) => report.entryId)
      if (ids.length === 0) continue
      const rows = yield* sql<{ entry_id: string }>`UPDATE linecast_telegram_reports SET told = 'reporting'
        WHERE told = ${told} AND ${sql.in("entry_id", ids)} RETURNING entry_id`
      for (const row of rows) claimed.add(row.entry_id)
    }
    return claimed
  })

const setTold = (entryIds: ReadonlyArray<string>, told: Told) =>
  entryIds.length === 0
    ? Effect.void
    : Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`UPDATE linecast_telegram_reports SET told = ${told} WHERE ${sql.in("entry_id", entryIds)}`
      ).pipe(Effect.asVoid)

const remove = (entryIds: ReadonlyArray<string>) =>
  entryIds.length === 0
    ? Effect.void
    : Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`DELETE FROM linecast_telegram_reports WHERE ${sql.in("entry_id", entryIds)}`
      ).pipe(Effect.asVoid)

/**
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions {
  /** How often the entries delivery saved since the last look are looked at. */
  readonly pollMs: number
  /** Rows read at a time (and entries looked at in one query). */
  readonly pageSize: number
  /**
   * Every this many polls (and at the start) all the rows are read instead: the changes of runners in other
   * processes, which this process does not hear of, and any it missed.
   */
  readonly sweepEvery: number
  /** Sends a report as a reply to the sender's message (grammY's auto-retry inside). */
  readonly send: (report: Report, text: string) => Effect.Effect<void, ReportFailure>
  readonly log: (level: "info" | "warning" | "error", message: string) => void
}

/** A report to send: its text, and what its row becomes after it (`undefined`: deleted). */
interface Step {
  readonly report: Report
  readonly text: string
  readonly after: "deferred" | undefined
}

/**
 * What to do for one report, given the entry's outcome: the report's text and what the row
 * becomes after it (`undefined`: deleted), or nothing yet.
 */
const next = (
  report: Report,
  outcome: Outcome
): { readonly text: string; readonly after: "deferred" | undefined } | undefined => {
  const text = reportWords(outcome)
  if (text === undefined) return undefined
  if (isSettled(outcome)) return { text, after: undefined }
  // Deferred after an answer that said "queued": told once; the final report still follows.
  if (outcome._tag === "Deferred" && report.told === "waiting") return { text, after: "deferred" }
  return undefined
}

/**
 * One message to a chat: the reports on one or more of its sender's messages. A chat with several
 * reports ready at once gets them in one message (a broadcast to a group makes one report for each
 * member): Telegram lets a bot send about one message a second to a chat and thirty a second in all,
 * and the sender reads one message instead of a burst of them.
 */
interface Message {
  /** The reports it carries, oldest first; it replies to the newest one's message. */
  readonly steps: ReadonlyArray<Step>
  readonly text: string
}

/** Reports in one message at most, and its length (Telegram takes 4,096 characters). */
const reportsPerMessage = 20
const messageLength = 3_500

const messageOf = (steps: ReadonlyArray<Step>): Message =>
  steps.length === 1
    ? { steps, text: steps[0]!.text }
    : {
        steps,
        text: [`${steps.length} reports:`, ...steps.map((step) => `• ${step.text}`)].join("\n")
      }

/** The ready reports as messages: each chat's in order, as few messages as the limits allow. */
const messagesOf = (ready: ReadonlyArray<Step>): ReadonlyArray<Message> => {
  const byChat = new Map<number, Array<Array<Step>>>()
  for (const step of ready) {
    const groups = byChat.get(step.report.chatId) ?? []
    if (groups.length === 0) byChat.set(step.report.chatId, groups)
    const last = groups[groups.length - 1]
    const length = (last ?? []).reduce((sum, other) => sum + other.text.length + 3, 0) + step.text.length
    if (last === undefined || last.length >= reportsPerMessage || length > messageLength) groups.push([step])
    else last.push(step)
  }
  return [...byChat.values()].flat().map(messageOf)
}

/** Messages sent at once (each chat's one after another): also the most a crash between claim and send can lose. */
const sendChunk = 16

/** Claims, sends and settles the reports of a few messages; never interrupted half-way. */
const sendAll = (messages: ReadonlyArray<Message>, options: WatchOptions) =>
  Effect.gen(function* () {
    const claimed = yield* claimAll(messages.flatMap((message) => message.steps.map(({ report }) => report)))
    const byChat = new Map<number, Array<Message>>()
    for (const message of messages) {
      // A report claimed meanwhile by another watcher is not told twice.
      const steps = message.steps.filter((step) => claimed.has(step.report.entryId))
      if (steps.length === 0) continue
      const mine = steps.length === message.steps.length ? message : messageOf(steps)
      const chatId = steps[0]!.report.chatId
      const chat = byChat.get(chatId)
      if (chat === undefined) byChat.set(chatId, [mine])
      else chat.push(mine)
    }
    const sent = yield* Effect.forEach(
      byChat.values(),
      (chat) =>
        Effect.forEach(chat, (message) => {
          const newest = message.steps[message.steps.length - 1]!.report
          return options.send(newest, message.text).pipe(
            Effect.as(true),
            Effect.catchAll((failure) => {
              options.log(
                "warning",
                `could not report on ${message.steps.length === 1 ? `entry ${newest.entryId}` : `${message.steps.length} entries (the newest ${newest.entryId})`} to chat ${newest.chatId}${failure.permanent ? ", giving up" : ", trying again later"}: ${failure.message}`
              )
              // 400 and 403 will not change by asking again: the report is done with.
              return Effect.succeed(failure.permanent)
            }),
            Effect.map((done) => message.steps.map((step) => ({ step, done })))
          )
        }),
      { concurrency: "unbounded" }
    )
    const results = sent.flat(2)
    const done = results.filter((result) => result.done).map((result) => result.step)
    yield* remove(done.filter((step) => step.after === undefined).map((step) => step.report.entryId))
    yield* setTold(
      done.filter((step) => step.after === "deferred").map((step) => step.report.entryId),
      "deferred"
    )
    // Telegram refused for now: back to what it was, for the next look.
    const again = results.filter((result) => !result.done).map((result) => result.step.report)
    for (const told of ["waiting", "deferred"] as const) {
      yield* setTold(
        again.filter((report) => report.told === told).map((report) => report.entryId),
        told
      )
    }
    return again.map((report) => report.entryId)
  }).pipe(Effect.uninterruptible)

/**
 * The states worth a report, by what the sender was told: how it ended, or (after "queued") that it
 * now waits for the weekly window.
 */
const reportable = {
  waiting: ["sent", "dead", "deferred"],
  deferred: ["sent", "dead"]
} as const

/**
 * The reports of a page whose entries have moved on, with their words (one query for each thing the
 * senders were told; an entry still on its way is not read), in the page's order (by entry id), so
 * that one chat's reports go out in the order of its messages. The rows of purged entries go.
 */
const readyOf = (page: ReadonlyArray<Report>) =>
  Effect.gen(function* () {
    const ready: Array<Step> = []
    if (page.length === 0) return ready
    const outbox = yield* Outbox.Outbox
    const ids = page.map((report) => report.entryId)
    // Purged by an operator: nothing left to tell. Counted first: a page whose entries are all there costs one count.
    if ((yield* outbox.count({ ids })) < page.length) {
      const present = new Set((yield* outbox.list({ ids, limit: page.length })).map((entry) => entry.id))
      yield* remove(ids.filter((id) => !present.has(id)))
    }
    const moved = new Map<string, OutboxEntry.OutboxEntry>()
    for (const told of ["waiting", "deferred"] as const) {
      const reports = page.filter((report) => report.told === told)
      if (reports.length === 0) continue
      const entries = yield* outbox.list({
        ids: reports.map((report) => report.entryId),
        state: reportable[told],
        limit: reports.length
      })
      for (const entry of entries) moved.set(entry.id, entry)
    }
    for (const report of page) {
      const entry = moved.get(report.entryId)
      const step = entry === undefined ? undefined : next(report, fromEntry(report.to, entry))
      if (step !== undefined) ready.push({ report, ...step })
    }
    return ready
  })

/**
 * Reports gathered over a look at many pages are sent at most this many at a time: what a chat has
 * ready at one look goes in as few messages as it can (read page by page, a chat's reports went in
 * a message for each page: about 470 messages for 800 reports, where Telegram takes one a second in
 * a chat), and a sweep over a long backlog does not hold all of it in memory.
 */
const readyAtOnce = 2_000

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
    const outbox = yield* Outbox.Outbox
    const changed = yield* outbox.changes
    // What a look found ready so far, sent together (see `readyAtOnce`).
    const ready: Array<Step> = []
    // Reports Telegram refused for now: the next look tries them again (no change of their entries will say so).
    let again: Array<string> = []
    const send = Effect.suspend(() => {
      const steps = ready.splice(0)
      const messages = messagesOf(steps)
      return Effect.forEach(
        Array.from({ length: Math.ceil(messages.length / sendChunk) }, (_, index) =>
          messages.slice(index * sendChunk, (index + 1) * sendChunk)
        ),
        (chunk) => Effect.map(sendAll(chunk, options), (ids) => void again.push(...ids)),
        { discard: true }
      ).pipe(
        Effect.catchAll((error) =>
          Effect.sync(() => options.log("warning", `reports on ${steps.length} entries not sent: ${error.message}`))
        )
      )
    })
    const gather = (page: ReadonlyArray<Report>) =>
      readyOf(page).pipe(
        Effect.flatMap((steps) => {
          ready.push(...steps)
          return ready.length >= readyAtOnce ? send : Effect.void
        }),
        Effect.catchAll((error) =>
          Effect.sync(() =>
            options.log(
              "warning",
              `reports on entries ${page[0]?.entryId} to ${page[page.length - 1]?.entryId} not checked: ${error.message}`
            )
          )
        )
      )
    const notRead = (error: SqlError) => Effect.sync(() => options.log("warning", `reports not read: ${error.message}`))
    const sweep = Effect.gen(function* () {
      let after = ""
      while (true) {
        const page = yield* pending(after, options.pageSize)
        yield* gather(page)
        if (page.length < options.pageSize) return
        after = page[page.length - 1]!.entryId
      }
    }).pipe(Effect.catchAll(notRead), Effect.zipRight(send))
    const lookAtChanged = Effect.gen(function* () {
      const ids = [...new Set([...again.splice(0), ...(yield* Queue.takeAll(changed))])].sort()
      for (let start = 0; start < ids.length; start += options.pageSize) {
        yield* gather(yield* pendingOn(ids.slice(start, start + options.pageSize)))
      }
    }).pipe(Effect.catchAll(notRead), Effect.zipRight(send))
    for (let poll = 0; ; poll++) {
      if (poll % Math.max(1, options.sweepEvery) === 0) {
        // The sweep reads every row: what was heard of until now is in it.
        yield* Queue.takeAll(changed)
        again = []
        yield* sweep
      } else {
        yield* lookAtChanged
      }
      yield* Effect.sleep(options.pollMs)
    }
  }).pipe(Effect.scoped)
