/**
 * The weekly ledger: Bitrix24 accepts one message per (portal, line, user) in any 7 × 24 h. The
 * ledger records every accepted send, answers when a recipient may next be written to, and learns
 * from the portal's own `USER_MESSAGE_LIMIT` answers (a send by another system counts too: the
 * portal is the truth, the ledger a forecast). A claim serialises senders to one recipient: only
 * the holder of the claim sends, so two messages never race for the same window.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Arr from "effect/Array"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { storageError, write } from "./internal/tables.js"
import type { Recipient } from "./OutboxEntry.js"
import { migrate, type OutboxStorageError } from "./OutboxStore.js"

/**
 * The outcome of a claim.
 *
 * @since 0.1.0
 * @category models
 */
export type Claim =
  | { readonly _tag: "Granted" }
  | { readonly _tag: "Blocked"; readonly until: number }
  | { readonly _tag: "Held"; readonly by: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface LedgerOptions {
  /** The window in milliseconds (7 × 24 h); tests shorten it on both sides. */
  readonly windowMs: number
  /**
   * After a `USER_MESSAGE_LIMIT` the ledger cannot know when the other send happened: it probes
   * again after this long (refused attempts cost the recipient nothing). Default 6 hours.
   */
  readonly probeAfterMs: number
  /** Portals with a Partner (NFR) licence: no weekly rule. */
  readonly exemptPortals: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultOptions: LedgerOptions = {
  windowMs: 7 * 24 * 3600 * 1000,
  probeAfterMs: 6 * 3600 * 1000,
  exemptPortals: []
}

/**
 * @since 0.1.0
 * @category tags
 */
export class WeeklyLedger extends Context.Tag("@linecast/delivery/WeeklyLedger")<
  WeeklyLedger,
  WeeklyLedger.Service
>() {}

/**
 * @since 0.1.0
 */
export declare namespace WeeklyLedger {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly options: LedgerOptions
    /** When the recipient may next be written to; undefined when now. */
    readonly nextAllowedAt: (recipient: Recipient, now: number) => Effect.Effect<number | undefined, OutboxStorageError>
    /** `nextAllowedAt` for each recipient, in order, read together (a batch of messages asks about all of its recipients). */
    readonly nextAllowedAtMany: (
      recipients: ReadonlyArray<Recipient>,
      now: number
    ) => Effect.Effect<ReadonlyArray<number | undefined>, OutboxStorageError>
    /** Takes the recipient's window for an entry, if it is open and nobody else holds it. */
    readonly claim: (recipient: Recipient, entryId: string, now: number) => Effect.Effect<Claim, OutboxStorageError>
    /** An accepted send: closes the window for `windowMs` from `sentAt`, and releases the claim. */
    readonly record: (recipient: Recipient, sentAt: number) => Effect.Effect<void, OutboxStorageError>
    /** The portal refused with `USER_MESSAGE_LIMIT`: someone wrote first. */
    readonly learn: (recipient: Recipient, now: number) => Effect.Effect<number, OutboxStorageError>
    /** Gives the claim up without a send. */
    readonly release: (recipient: Recipient, entryId: string) => Effect.Effect<void, OutboxStorageError>
    /** The last accepted send known, if any. */
    readonly lastSent: (recipient: Recipient) => Effect.Effect<number | undefined, OutboxStorageError>
  }
}

interface Row {
  readonly last_sent_at: number | string | null
  readonly blocked_until: number | string | null
  readonly claimed_by: string | null
}

/** A row with its recipient's key (PostgreSQL gives a BIGINT as a string). */
interface RowOf extends Row {
  readonly portal: string
  readonly line_code: string
  readonly user_id: number | string
}

const toNumber = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value))

const idOf = (portal: string, lineCode: string, userId: number | string) =>
  `${portal}\u0000${lineCode}\u0000${Number(userId)}`

/** Recipients read in one statement at most: three bound values each, far below either database's limit. */
const readPerStatement = 200

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Partial<LedgerOptions> = {}
): Effect.Effect<WeeklyLedger.Service, OutboxStorageError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* migrate
    const settings: LedgerOptions = { ...defaultOptions, ...options }
    const failed = (operation: string) => storageError(`ledger.${operation}`)
    const key = (recipient: Recipient) =>
      sql`portal = ${recipient.portal} AND line_code = ${recipient.lineCode} AND user_id = ${recipient.userId}`
    const exempt = (recipient: Recipient) => settings.exemptPortals.includes(recipient.portal)

    const read = (recipient: Recipient) =>
      sql<Row>`SELECT last_sent_at, blocked_until, claimed_by FROM linecast_ledger WHERE ${key(recipient)}`.pipe(
        Effect.map((rows) => rows[0])
      )

    const opensAt = (row: Row | undefined) => {
      if (row === undefined) return 0
      return Math.max(
        (toNumber(row.last_sent_at) ?? Number.NEGATIVE_INFINITY) + settings.windowMs,
        toNumber(row.blocked_until) ?? 0
      )
    }

    const ensureRow = (recipient: Recipient) =>
      sql`INSERT INTO linecast_ledger (portal, line_code, user_id)
        VALUES (${recipient.portal}, ${recipient.lineCode}, ${recipient.userId}) ON CONFLICT DO NOTHING`

    /** An update of the recipient's row that names the row it changed: when there is none yet, it is made first. */
    const onRow = (recipient: Recipient, update: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
      Effect.flatMap(update, (rows) =>
        rows.length > 0 ? Effect.void : Effect.asVoid(Effect.zipRight(ensureRow(recipient), update))
      )

    return WeeklyLedger.of({
      options: settings,
      nextAllowedAt: (recipient, now) =>
        exempt(recipient)
          ? Effect.succeed(undefined)
          : read(recipient).pipe(
              Effect.map((row) => {
                const opens = opensAt(row)
                return opens > now ? opens : undefined
              }),
              Effect.mapError(failed("nextAllowedAt"))
            ),
      nextAllowedAtMany: (recipients, now) => {
        const asked = recipients.filter((recipient) => !exempt(recipient))
        return Effect.forEach(
          Arr.chunksOf(asked, readPerStatement),
          (chunk) =>
            sql<RowOf>`SELECT portal, line_code, user_id, last_sent_at, blocked_until, claimed_by
            FROM linecast_ledger WHERE ${sql.or(chunk.map(key))}`
        ).pipe(
          Effect.map((pages) => {
            const rows = new Map(pages.flat().map((row) => [idOf(row.portal, row.line_code, row.user_id), row]))
            return recipients.map((recipient) => {
              if (exempt(recipient)) return undefined
              const opens = opensAt(rows.get(idOf(recipient.portal, recipient.lineCode, recipient.userId)))
              return opens > now ? opens : undefined
            })
          }),
          Effect.mapError(failed("nextAllowedAt"))
        )
      },
      claim: (recipient, entryId, now) =>
        Effect.gen(function* () {
          // One conditional UPDATE: atomic in SQLite and PostgreSQL alike. It names the row it took: one statement
          // when the window is granted, as it mostly is; the row is read only to say why not.
          const windowOpen = exempt(recipient)
            ? sql`1 = 1`
            : sql`(last_sent_at IS NULL OR last_sent_at <= ${now - settings.windowMs}) AND (blocked_until IS NULL OR blocked_until <= ${now})`
          const take = sql<{ user_id: unknown }>`UPDATE linecast_ledger SET claimed_by = ${entryId}
            WHERE ${key(recipient)} AND (claimed_by IS NULL OR claimed_by = ${entryId}) AND ${windowOpen} RETURNING user_id`
          if ((yield* take).length > 0) return { _tag: "Granted" } as const
          let row = yield* read(recipient)
          if (row === undefined) {
            // The recipient's first claim: its row first.
            yield* ensureRow(recipient)
            if ((yield* take).length > 0) return { _tag: "Granted" } as const
            row = yield* read(recipient)
          }
          if (row?.claimed_by === entryId) return { _tag: "Granted" } as const
          if (row?.claimed_by !== null && row?.claimed_by !== undefined)
            return { _tag: "Held", by: row.claimed_by } as const
          return { _tag: "Blocked", until: opensAt(row) } as const
        }).pipe((claim) => write(sql, "ledger.claim", claim)),
      record: (recipient, sentAt) =>
        onRow(
          recipient,
          sql<{ user_id: unknown }>`UPDATE linecast_ledger SET last_sent_at = ${sentAt}, claimed_by = NULL
            WHERE ${key(recipient)} RETURNING user_id`
        ).pipe((record) => write(sql, "ledger.record", record)),
      learn: (recipient, now) => {
        const until = now + Math.min(settings.probeAfterMs, settings.windowMs)
        return onRow(
          recipient,
          sql<{ user_id: unknown }>`UPDATE linecast_ledger SET blocked_until = ${until}, claimed_by = NULL
            WHERE ${key(recipient)} RETURNING user_id`
        ).pipe((learn) => write(sql, "ledger.learn", learn), Effect.as(until))
      },
      release: (recipient, entryId) =>
        write(
          sql,
          "ledger.release",
          sql`UPDATE linecast_ledger SET claimed_by = NULL WHERE ${key(recipient)} AND claimed_by = ${entryId}`
        ).pipe(Effect.asVoid),
      lastSent: (recipient) =>
        read(recipient).pipe(
          Effect.map((row) => (row === undefined ? undefined : toNumber(row.last_sent_at))),
          Effect.mapError(failed("lastSent"))
        )
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Partial<LedgerOptions> = {}
): Layer.Layer<WeeklyLedger, OutboxStorageError, SqlClient.SqlClient> => Layer.effect(WeeklyLedger, make(options))
