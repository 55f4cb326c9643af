/**
 * Relaying, in Effect: a draft (BB-code text and an optional attachment) goes to each recipient
 * through delivery's outbox under an idempotency key derived from the Telegram update, and what
 * delivery accepted is the answer; the final outcome is reported later (`RelayReports`). Tagged
 * errors become outcomes with a reason, never throws.
 *
 * @since 0.1.0
 */

import type * as SqlClient from "@effect/sql/SqlClient"
import type { Attachment, BitrixError } from "@linecast/core"
import { Outbox, OutboxStore, PortalChannels } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Outcome } from "./Outcome.js"
import { fromEntry, isSettled, reason } from "./Outcome.js"
import type { NewReport } from "./RelayReports.js"
import { registerAll } from "./RelayReports.js"

/**
 * What to send: BB-code text (already escaped) and an optional attachment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Draft {
  readonly text: string
  readonly attachment?: Attachment.Attachment | undefined
}

/**
 * A Bitrix24 user, with the name the sender used.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recipient {
  readonly name: string
  readonly userId: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RelayTarget {
  readonly lineCode: string
  readonly portal: string
  readonly policy: "defer" | "digest"
}

/**
 * The idempotency key of one recipient's copy of one Telegram update: a re-delivered update
 * (a restart before the offset was confirmed, a webhook retried) finds its entry and sends nothing.
 *
 * @since 0.1.0
 * @category keys
 */
export const idempotencyKey = (botId: number, updateId: number, userId: number): string =>
  `telegram:${botId}:${updateId}:${userId}`

/**
 * The sender's message an outcome's report replies to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Origin {
  readonly chatId: number
  readonly messageId: number
}

type EnqueueFailure = BitrixError.ValidationError | BitrixError.UserMessageLimitError | OutboxStore.OutboxStorageError

const refused = (to: string, error: EnqueueFailure): Outcome => {
  switch (error._tag) {
    case "OutboxStorageError":
      return { _tag: "Refused", to, reason: "it could not be saved right now (nothing was sent); please try again" }
    case "UserMessageLimitError":
      return { _tag: "Deferred", to, until: error.nextAllowedAt, digest: false, entryId: "" }
    default:
      return { _tag: "Refused", to, reason: reason(error) }
  }
}

/**
 * One Telegram message (or album) to relay: the draft, its recipients, where it goes, the key of
 * each recipient's copy, and the message the answers and reports reply to.
 *
 * @since 0.1.0
 * @category models
 */
export interface RelayRequest {
  readonly draft: Draft
  readonly recipients: ReadonlyArray<Recipient>
  readonly target: RelayTarget
  readonly key: (userId: number) => string
  readonly origin: Origin
}

/** One recipient's copy of one message. */
interface Copy {
  readonly request: RelayRequest
  readonly recipient: Recipient
}

const itemOf = ({ request, recipient }: Copy): Outbox.EnqueueItem => ({
  message: {
    lineCode: request.target.lineCode,
    userId: recipient.userId,
    message: request.draft.text,
    ...(request.draft.attachment === undefined ? {} : { attachment: request.draft.attachment })
  },
  options: {
    idempotencyKey: request.key(recipient.userId),
    portal: request.target.portal,
    policy: request.target.policy
  }
})

/** A recipient's weekly window, as the ledger is asked about it: once a recipient per batch. */
const windowKey = (target: RelayTarget, userId: number) => `${target.portal}\u0000${target.lineCode}\u0000${userId}`

/**
 * What delivery accepted for each copy, and the reports still owed: queued, deferred until the recipient's
 * window opens (the weekly ledger knows it is closed), to be merged into a digest, refused and why; or, for
 * a re-delivered update whose entry has settled, how it ended.
 */
const decide = (
  copies: ReadonlyArray<Copy>,
  results: ReadonlyArray<Outbox.EnqueueResult>
): Effect.Effect<
  { readonly outcomes: ReadonlyArray<Outcome>; readonly reports: ReadonlyArray<NewReport> },
  never,
  Outbox.Outbox
> =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.Outbox
    const outcomes: Array<Outcome> = []
    // The recipients whose copies were queued: their windows are asked about below.
    const asked = new Map<string, { readonly target: RelayTarget; readonly userId: number }>()
    for (const [index, { request, recipient }] of copies.entries()) {
      const result = results[index]
      if (result === undefined || Either.isLeft(result)) {
        const error: EnqueueFailure =
          result === undefined
            ? new OutboxStore.OutboxStorageError({ operation: "store", message: "no answer for this copy" })
            : result.left
        outcomes.push(refused(recipient.name, error))
        continue
      }
      const outcome = fromEntry(recipient.name, result.right.entry)
      outcomes.push(outcome)
      if (outcome._tag === "Queued") {
        asked.set(windowKey(request.target, recipient.userId), { target: request.target, userId: recipient.userId })
      }
    }
    // The ledger knows the window is closed: the workflow will defer it (or merge it) too. Asked in one read
    // for the batch's recipients; a ledger that cannot be read leaves the copies queued (they are stored).
    const keys = [...asked.keys()]
    const opens = yield* outbox
      .nextAllowedAtMany(
        [...asked.values()].map(({ target, userId }) => ({ portal: target.portal, lineCode: target.lineCode, userId }))
      )
      .pipe(Effect.orElseSucceed(() => keys.map(() => undefined)))
    const windows = new Map(keys.map((key, index) => [key, opens[index]]))
    const reports: Array<NewReport> = []
    for (const [index, { request, recipient }] of copies.entries()) {
      const result = results[index]
      if (result === undefined || Either.isLeft(result)) continue
      const entry = result.right.entry
      let outcome = outcomes[index]!
      if (outcome._tag === "Queued") {
        const until = windows.get(windowKey(request.target, recipient.userId))
        if (until !== undefined) {
          outcome = {
            _tag: "Deferred",
            to: recipient.name,
            until,
            digest: request.target.policy === "digest",
            entryId: entry.id
          }
          outcomes[index] = outcome
        }
      }
      if (!isSettled(outcome)) {
        reports.push({
          entryId: entry.id,
          chatId: request.origin.chatId,
          messageId: request.origin.messageId,
          to: recipient.name,
          told: outcome._tag === "Deferred" ? "deferred" : "waiting"
        })
      }
    }
    return { outcomes, reports }
  })

/**
 * Relays several messages together (the updates that arrived at once): enqueues each draft for
 * each of its recipients in one `enqueueMany` (in the order given, so a chat's messages keep their
 * order), registers every report still owed in the same transaction (one commit: an entry is never
 * stored without the report its sender will be owed), and answers what delivery accepted for each
 * message (see `decide`), without waiting for the sends.
 *
 * @since 0.1.0
 * @category relaying
 */
export const relayAll = (
  requests: ReadonlyArray<RelayRequest>
): Effect.Effect<ReadonlyArray<ReadonlyArray<Outcome>>, never, Outbox.Outbox | SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.Outbox
    const copies = requests.flatMap((request) => request.recipients.map((recipient): Copy => ({ request, recipient })))
    let decided: ReadonlyArray<Outcome> = []
    const stored = yield* Effect.either(
      outbox.enqueueMany(copies.map(itemOf), {
        alongside: (results) =>
          Effect.flatMap(decide(copies, results), ({ outcomes, reports }) => {
            decided = outcomes
            return registerAll(reports)
          })
      })
    )
    // A database that fails the batch refuses every copy in it: nothing of it was stored.
    const outcomes = Either.isLeft(stored)
      ? copies.map(({ recipient }) => refused(recipient.name, stored.left))
      : decided
    // Back into messages: each request's copies are consecutive, in its recipients' order.
    let next = 0
    return requests.map((request) => request.recipients.map(() => outcomes[next++]!))
  })

/**
 * `relayAll` for one message: each recipient's outcome; every entry still on its way is registered
 * for a later report (a reply to `origin`).
 *
 * @since 0.1.0
 * @category relaying
 */
export const relay = (
  draft: Draft,
  recipients: ReadonlyArray<Recipient>,
  target: RelayTarget,
  key: (userId: number) => string,
  origin: Origin
): Effect.Effect<ReadonlyArray<Outcome>, never, Outbox.Outbox | SqlClient.SqlClient> =>
  Effect.map(relayAll([{ draft, recipients, target, key, origin }]), (outcomes) => outcomes[0] ?? [])

/**
 * Reads an entry again: its outcome as it stands, or undefined when it cannot be read.
 *
 * @since 0.1.0
 * @category relaying
 */
export const check = (to: string, entryId: string): Effect.Effect<Outcome | undefined, never, Outbox.Outbox> =>
  Effect.flatMap(Outbox.Outbox, (outbox) => outbox.get(entryId)).pipe(
    Effect.map((entry) => fromEntry(to, entry)),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * When a user may next be written to (undefined: now).
 *
 * @since 0.1.0
 * @category relaying
 */
export const nextAllowedAt = (
  target: RelayTarget,
  userId: number
): Effect.Effect<number | undefined, OutboxStore.OutboxStorageError, Outbox.Outbox> =>
  Effect.flatMap(Outbox.Outbox, (outbox) =>
    outbox.nextAllowedAt({ portal: target.portal, lineCode: target.lineCode, userId })
  )

/**
 * The queue by state and whether the portal answers.
 *
 * @since 0.1.0
 * @category relaying
 */
export const status = (
  portal: string
): Effect.Effect<
  { readonly counts: Readonly<Record<string, number>>; readonly portal: "ok" | string },
  OutboxStore.OutboxStorageError,
  Outbox.Outbox | PortalChannels.PortalChannels
> =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.Outbox
    const counts: Record<string, number> = {}
    for (const state of ["queued", "sending", "deferred", "ambiguous", "dead", "sent"] as const) {
      counts[state] = yield* outbox.count({ state, portal })
    }
    const health = yield* Effect.flatMap(PortalChannels.PortalChannels, (channels) => channels.channel(portal)).pipe(
      Effect.flatMap((channel) => channel.call("server.time", {})),
      Effect.as("ok"),
      Effect.catchAll((error) => Effect.succeed(`not answering (${error.message})`)),
      Effect.timeoutTo({
        duration: "5 seconds",
        onTimeout: () => "not answering (timed out)",
        onSuccess: (value) => value
      })
    )
    return { counts, portal: health }
  })
