/**
 * What happened to a relayed message, and how to say it to the person who wrote it. The answer to
 * the message itself says what delivery accepted (queued, deferred until a date by Bitrix24's
 * one-message-a-week rule, to be merged into a digest, or refused and why); a later report says how
 * it ended (delivered, merged into a digest, or not delivered and why). Plain words, no codes
 * unless there is nothing better.
 *
 * @since 0.1.0
 */
import type { OutboxEntry } from "@linecast/delivery"

/**
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Sent"; readonly to: string }
  | { readonly _tag: "Merged"; readonly to: string }
  | {
      readonly _tag: "Deferred"
      readonly to: string
      readonly until: number | undefined
      readonly digest: boolean
      readonly entryId: string
    }
  | { readonly _tag: "Queued"; readonly to: string; readonly entryId: string }
  | { readonly _tag: "Checking"; readonly to: string; readonly entryId: string }
  | { readonly _tag: "Refused"; readonly to: string; readonly reason: string }

/**
 * A date as people read it, in UTC: `2026-12-02 20:30 UTC`.
 *
 * @since 0.1.0
 * @category words
 */
export const date = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`

const reasons: Readonly<Record<string, string>> = {
  USER_MESSAGE_LIMIT: "this person was already written to from this open line this week",
  ATTACH_OVERSIZE: "the attachment is too large for Bitrix24",
  MESSAGE_EMPTY: "the message is empty",
  ATTACH_ERROR: "the attachment is not valid",
  CODE_ERROR: "the open line's code is wrong",
  USER_ID_EMPTY: "no recipient was given",
  LINE_NOT_FOUND: "the open line is not connected to Bitrix24 Network",
  NOT_FOUND: "the open line is not connected to Bitrix24 Network",
  IMBOT_NOT_FOUND: "the portal's chat-bot module is missing",
  REPLACED: "a newer message replaced it"
}

/**
 * Words for a typed error (a tag and code as the outbox records them).
 *
 * @since 0.1.0
 * @category words
 */
export const reason = (error: { readonly code?: string; readonly message: string }): string =>
  (error.code === undefined ? undefined : reasons[error.code]) ?? error.message.replace(/\.$/, "")

/**
 * The outcome of an outbox entry as it stands: settled (sent, merged, dead), deferred, or on its way.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEntry = (to: string, entry: OutboxEntry.OutboxEntry): Outcome => {
  switch (entry.state) {
    case "sent":
      return entry.settlement === "merged" ? { _tag: "Merged", to } : { _tag: "Sent", to }
    case "deferred":
      return { _tag: "Deferred", to, until: entry.nextAllowedAt, digest: entry.policy === "digest", entryId: entry.id }
    case "dead":
      return {
        _tag: "Refused",
        to,
        reason: entry.lastError === undefined ? "it could not be delivered" : reason(entry.lastError)
      }
    case "ambiguous":
      return { _tag: "Checking", to, entryId: entry.id }
    default:
      return { _tag: "Queued", to, entryId: entry.id }
  }
}

/**
 * Whether the outcome is the end of the story (nothing more to report).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSettled = (outcome: Outcome): boolean =>
  outcome._tag === "Sent" || outcome._tag === "Merged" || outcome._tag === "Refused"

/**
 * The answer to the message: what delivery accepted, or how it already ended.
 *
 * @since 0.1.0
 * @category words
 */
export const words = (outcome: Outcome): string => {
  switch (outcome._tag) {
    case "Sent":
      return `Sent to ${outcome.to}.`
    case "Merged":
      return `Merged into a digest for ${outcome.to}, and delivered.`
    case "Deferred": {
      const when = outcome.until === undefined ? "as soon as Bitrix24 allows" : `on ${date(outcome.until)}`
      return outcome.digest
        ? `Not sent yet: Bitrix24 allows one message a week to ${outcome.to}, and this week's is used. Yours is saved and will be merged into one digest that goes out ${when}.`
        : `Deferred until ${outcome.until === undefined ? "Bitrix24 allows it" : date(outcome.until)}: Bitrix24 allows one message a week to ${outcome.to}, and this week's is used. Yours is saved and goes out ${when}.`
    }
    case "Queued":
      return `Queued for ${outcome.to}: saved and on its way. I will tell you when it is delivered.`
    case "Checking":
      return `Sent to ${outcome.to}, but Bitrix24's answer was lost; I am checking whether it arrived and will tell you.`
    case "Refused":
      return `Not sent to ${outcome.to}: ${outcome.reason}.`
  }
}

/**
 * The report sent later, as a reply to the message: how it ended, or (once) that it now waits for
 * the weekly window. Undefined: nothing worth a message.
 *
 * @since 0.1.0
 * @category words
 */
export const reportWords = (outcome: Outcome): string | undefined => {
  switch (outcome._tag) {
    case "Sent":
      return `Delivered to ${outcome.to}.`
    case "Merged":
      return `Delivered to ${outcome.to}, merged into a digest with the other messages that were waiting.`
    case "Refused":
      return `Not delivered to ${outcome.to}: ${outcome.reason}.`
    case "Deferred":
      return words(outcome)
    default:
      return undefined
  }
}
