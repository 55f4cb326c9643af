/**
 * One message in the outbox: what to send, to whom, under which weekly-rule policy, and where it
 * stands. States: `queued` → `sending` → `sent`; `deferred` (waiting for the recipient's window,
 * with `nextAllowedAt`); `ambiguous` (the answer was lost and reconciling did not settle it);
 * `dead` (with the last typed error).
 *
 * @since 0.1.0
 */
import { NetworkMessage } from "@linecast/core"
import * as Schema from "effect/Schema"

/**
 * What to do when the recipient was already written to this week.
 * - `reject`: fail fast with `nextAllowedAt`.
 * - `defer`: send when the window opens.
 * - `digest`: merge everything pending for the recipient into one message when the window opens.
 * - `replace`: the newest pending message wins; older ones are dropped as replaced.
 *
 * @since 0.1.0
 * @category models
 */
export const DeliveryPolicy = Schema.Literal("reject", "defer", "digest", "replace")

/**
 * @since 0.1.0
 * @category models
 */
export type DeliveryPolicy = typeof DeliveryPolicy.Type

/**
 * @since 0.1.0
 * @category models
 */
export const DeliveryState = Schema.Literal("queued", "sending", "sent", "deferred", "ambiguous", "dead")

/**
 * @since 0.1.0
 * @category models
 */
export type DeliveryState = typeof DeliveryState.Type

/**
 * States in which an entry's workflow rests (done, or waiting long) and holds no place in admission.
 *
 * @since 0.1.0
 * @category models
 */
export const resting = (state: DeliveryState): boolean => state !== "queued" && state !== "sending"

/**
 * The key Bitrix24's weekly rule is kept on: one message per (portal, line, user) per 7 × 24 h.
 *
 * @since 0.1.0
 * @category models
 */
export const Recipient = Schema.Struct({
  portal: Schema.String,
  lineCode: Schema.String,
  userId: Schema.Int
})

/**
 * @since 0.1.0
 * @category models
 */
export type Recipient = typeof Recipient.Type

/**
 * A typed error as the outbox keeps it: enough to act on and to show, never a secret.
 *
 * @since 0.1.0
 * @category models
 */
export const RecordedError = Schema.Struct({
  tag: Schema.String,
  code: Schema.String,
  errorClass: Schema.String,
  message: Schema.String,
  nextAllowedAt: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RecordedError = typeof RecordedError.Type

/**
 * A tagged error (core's, or delivery's own) as the outbox keeps it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const recordedErrorOf = (error: {
  readonly _tag: string
  readonly message: string
  readonly code?: string
  readonly errorClass?: string
  readonly nextAllowedAt?: number | undefined
}): RecordedError => ({
  tag: error._tag,
  code: error.code ?? error._tag,
  errorClass: error.errorClass ?? "permanent",
  message: error.message,
  ...(error.nextAllowedAt === undefined ? {} : { nextAllowedAt: error.nextAllowedAt })
})

/**
 * How a sent message was settled.
 * - `sent`: the portal accepted it.
 * - `landed`: the answer was lost, and a re-send refused by the weekly rule proved it had landed.
 * - `resent`: the answer was lost, and a re-send succeeded: the first had not landed.
 * - `merged`: it went out inside another entry's digest.
 *
 * @since 0.1.0
 * @category models
 */
export const Settlement = Schema.Literal("sent", "landed", "resent", "merged")

/**
 * @since 0.1.0
 * @category models
 */
export const OutboxEntry = Schema.Struct({
  id: Schema.String,
  idempotencyKey: Schema.String,
  portal: Schema.String,
  message: NetworkMessage.NetworkMessage,
  policy: DeliveryPolicy,
  state: DeliveryState,
  /** Unix ms before which the entry is not sent. */
  notBefore: Schema.optional(Schema.Number),
  /** Unix ms when the recipient's window opens, for `deferred` entries. */
  nextAllowedAt: Schema.optional(Schema.Number),
  attempts: Schema.Number,
  /** How many times the entry was replayed. */
  generation: Schema.Number,
  settlement: Schema.optional(Settlement),
  /** The digest entry this one went out in. */
  mergedInto: Schema.optional(Schema.String),
  /** The core receipt's request id and the portal's time of acceptance (Unix ms). */
  receipt: Schema.optional(Schema.Struct({ requestId: Schema.String, sentAt: Schema.Number })),
  lastError: Schema.optional(RecordedError),
  /**
   * An earlier attempt may have landed (its answer was lost): every later attempt reconciles, until the
   * entry is settled, even once a later attempt is proved never sent.
   */
  uncertain: Schema.optional(Schema.Boolean),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  /** Bumped by every save: a save made from a stale read is refused, never silently applied. */
  version: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type OutboxEntry = typeof OutboxEntry.Type

/**
 * The recipient an entry is for.
 *
 * @since 0.1.0
 * @category accessors
 */
export const recipientOf = (entry: Pick<OutboxEntry, "portal" | "message">): Recipient => ({
  portal: entry.portal,
  lineCode: entry.message.lineCode,
  userId: entry.message.userId
})

/**
 * One step of an entry's history: where it stood after a save (its state, attempts, typed error,
 * receipt), recorded by the store at every save so an operator can see how it got where it is.
 *
 * @since 0.1.0
 * @category models
 */
export const HistoryRecord = Schema.Struct({
  /** The entry's version after this save (0: as enqueued). */
  version: Schema.Number,
  state: DeliveryState,
  attempts: Schema.Number,
  generation: Schema.Number,
  nextAllowedAt: Schema.optional(Schema.Number),
  settlement: Schema.optional(Settlement),
  mergedInto: Schema.optional(Schema.String),
  receipt: Schema.optional(Schema.Struct({ requestId: Schema.String, sentAt: Schema.Number })),
  lastError: Schema.optional(RecordedError),
  /** Unix ms: the entry's `updatedAt` at this save. */
  at: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type HistoryRecord = typeof HistoryRecord.Type

/**
 * The history record of an entry as it is now.
 *
 * @since 0.1.0
 * @category accessors
 */
export const historyRecordOf = (entry: OutboxEntry): HistoryRecord => ({
  version: entry.version,
  state: entry.state,
  attempts: entry.attempts,
  generation: entry.generation,
  ...(entry.nextAllowedAt === undefined ? {} : { nextAllowedAt: entry.nextAllowedAt }),
  ...(entry.settlement === undefined ? {} : { settlement: entry.settlement }),
  ...(entry.mergedInto === undefined ? {} : { mergedInto: entry.mergedInto }),
  ...(entry.receipt === undefined ? {} : { receipt: entry.receipt }),
  ...(entry.lastError === undefined ? {} : { lastError: entry.lastError }),
  at: entry.updatedAt
})
