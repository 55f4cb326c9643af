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
import type { OutboxStore } from "@linecast/delivery"
import { Outbox, PortalChannels } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import type { Outcome } from "./Outcome.js"
import { fromEntry, isSettled, reason } from "./Outcome.js"
import { register } from "./RelayReports.js"

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

const refusedFor =
  (to: string) =>
  (
    error: BitrixError.ValidationError | BitrixError.UserMessageLimitError | OutboxStore.OutboxStorageError
  ): Effect.Effect<Outcome> => {
    switch (error._tag) {
      case "OutboxStorageError":
        return Effect.succeed({
          _tag: "Refused",
          to,
          reason: "it could not be saved right now (nothing was sent); please try again"
        })
      case "UserMessageLimitError":
        return Effect.succeed({ _tag: "Deferred", to, until: error.nextAllowedAt, digest: false, entryId: "" })
      default:
        return Effect.succeed({ _tag: "Refused", to, reason: reason(error) })
    }
  }

/**
 * Enqueues the draft for each recipient and answers what delivery accepted, without waiting for
 * the send: queued, deferred until the recipient's window opens (the weekly ledger knows it is
 * closed), to be merged into a digest, refused and why; or, for a re-delivered update whose entry
 * has settled, how it ended. Every entry still on its way is registered for a later report (a
 * reply to `origin`).
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
  Effect.forEach(recipients, (recipient) =>
    Effect.gen(function* () {
      const outbox = yield* Outbox.Outbox
      const to = recipient.name
      const { entry } = yield* outbox.enqueue(
        {
          lineCode: target.lineCode,
          userId: recipient.userId,
          message: draft.text,
          ...(draft.attachment === undefined ? {} : { attachment: draft.attachment })
        },
        { idempotencyKey: key(recipient.userId), portal: target.portal, policy: target.policy }
      )
      let outcome = fromEntry(to, entry)
      if (outcome._tag === "Queued") {
        // The ledger knows the window is closed: the workflow will defer it (or merge it) too.
        const until = yield* outbox.nextAllowedAt({
          portal: target.portal,
          lineCode: target.lineCode,
          userId: recipient.userId
        })
        if (until !== undefined) {
          outcome = { _tag: "Deferred", to, until, digest: target.policy === "digest", entryId: entry.id }
        }
      }
      if (!isSettled(outcome)) {
        yield* register({
          entryId: entry.id,
          chatId: origin.chatId,
          messageId: origin.messageId,
          to,
          told: outcome._tag === "Deferred" ? "deferred" : "waiting"
        }).pipe(
          Effect.catchAll((error) => Effect.logWarning(`no report will follow for entry ${entry.id}: ${error.message}`))
        )
      }
      return outcome
    }).pipe(Effect.catchAll(refusedFor(recipient.name)))
  )

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
