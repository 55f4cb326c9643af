/**
 * The listener's checks of one event, as plain synchronous code shared by the Effect router and the
 * node:http handler: size, form, portal, the application token in constant time, freshness. The
 * verdict is either the answer to give now (nothing stored) or the inbox row to commit first.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import * as Either from "effect/Either"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Redacted from "effect/Redacted"
import { decode, isCrmEvent } from "../CrmEvent.js"
import type { NewInboxEvent } from "../EventInbox.js"
import type { Body } from "./readBody.js"

export interface Portal {
  readonly id: string
  readonly domain: string
  readonly memberId?: string | undefined
  readonly applicationToken?: Redacted.Redacted<string> | undefined
}

export interface Answer {
  readonly outcome: string
  /** A stored event no rule asks for: also counted as processed (`unmatched`). */
  readonly unmatched?: true
  readonly status: number
  /** The JSON body, already serialised (it never holds anything from the request). */
  readonly body: string
}

export type Verdict =
  | { readonly _tag: "Answer"; readonly answer: Answer }
  | { readonly _tag: "Store"; readonly event: NewInboxEvent }

const answer = (outcome: string, status: number, body: Record<string, string>): Answer => ({
  outcome,
  status,
  body: JSON.stringify(body)
})

/** The answers that do not depend on the request, made once. */
export const answers = {
  tooLarge: answer("too_large", 413, { error: "body too large" }),
  broken: answer("malformed", 400, { error: "the body could not be read" }),
  unknownPortal: answer("unknown_portal", 403, { error: "unknown portal" }),
  installed: answer("installed", 200, { status: "installed" }),
  noToken: answer("forged", 401, { error: "no application token is known for this portal" }),
  forged: answer("forged", 401, { error: "wrong application token" }),
  stale: answer("stale", 400, { error: "stale event" }),
  ignored: answer("ignored", 200, { status: "ignored" }),
  unavailable: answer("unavailable", 503, { error: "the event could not be stored" }),
  duplicate: answer("duplicate", 200, { status: "duplicate" }),
  stored: answer("stored", 200, { status: "accepted" }),
  storedUnmatched: { ...answer("stored", 200, { status: "accepted" }), unmatched: true }
} satisfies Record<string, Answer>

/** The answer once the inbox has answered: stored (matched by a rule or not), a repeat, or a failure. */
export const afterStore = (event: NewInboxEvent, stored: boolean | undefined): Answer =>
  stored === undefined
    ? answers.unavailable
    : !stored
      ? answers.duplicate
      : event.state === "processed"
        ? answers.storedUnmatched
        : answers.stored

const digest = (value: string) => createHash("sha256").update(value).digest()

// The expected tokens' digests, made once per token.
const expectedDigests = new WeakMap<Redacted.Redacted<string>, Buffer>()

/** Constant-time comparison of two secrets (of any lengths): equal-length digests, compared in constant time. */
const sameSecret = (given: Redacted.Redacted<string>, expected: Redacted.Redacted<string>) => {
  let known = expectedDigests.get(expected)
  if (known === undefined) {
    known = digest(Redacted.value(expected))
    expectedDigests.set(expected, known)
  }
  return timingSafeEqual(digest(Redacted.value(given)), known)
}

export interface Reception {
  /** `wants` tells whether the event needs processing (a rule for it); the others are stored as processed. */
  readonly check: (
    body: Body,
    contentType: string | undefined,
    now: number,
    wants: (event: string) => boolean
  ) => Verdict
  /** Counts an answer in `linecast_crm_events_received` (synchronously: no Effect per request). */
  readonly count: (answer: Answer) => void
}

export const make = (options: {
  readonly portals: ReadonlyArray<Portal>
  readonly staleAfterSeconds?: number | undefined
  readonly acceptInstall?: boolean | undefined
  readonly received: Metric.Metric.Counter<number>
  readonly processed: Metric.Metric.Counter<number>
}): Reception => {
  const unmatched = [MetricLabel.make("outcome", "unmatched")]
  const staleAfter = (options.staleAfterSeconds ?? 3600) * 1000
  // Tokens learnt from ONAPPINSTALL, by portal id (kept for the life of the process).
  const installed = new Map<string, Redacted.Redacted<string>>()
  const say = (value: Answer): Verdict => ({ _tag: "Answer", answer: value })
  // One tag set per outcome, made once.
  const tags = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

  return {
    check: (body, contentType, now, wants) => {
      if (body._tag === "TooLarge") return say(answers.tooLarge)
      if (body._tag === "Broken") return say(answers.broken)
      const parsed = decode(body.text, contentType)
      if (Either.isLeft(parsed)) return say(answer("malformed", 400, { error: parsed.left.message }))
      const event = parsed.right
      const portal = options.portals.find(
        (candidate) =>
          candidate.domain === event.domain &&
          (candidate.memberId === undefined || candidate.memberId === event.memberId)
      )
      if (portal === undefined) return say(answers.unknownPortal)
      const expected = portal.applicationToken ?? installed.get(portal.id)
      if (expected === undefined) {
        if (options.acceptInstall === true && event.event === "ONAPPINSTALL") {
          installed.set(portal.id, event.applicationToken)
          return say(answers.installed)
        }
        return say(answers.noToken)
      }
      if (!sameSecret(event.applicationToken, expected)) return say(answers.forged)
      if (event.ts * 1000 < now - staleAfter) return say(answers.stale)
      if (!isCrmEvent(event.event)) return say(answers.ignored)
      return {
        _tag: "Store",
        event: {
          id: `${portal.id}:${event.event}:${event.entityId}:${event.ts}:${event.handlerId ?? ""}`,
          portal: portal.id,
          event: event.event,
          entityId: event.entityId,
          ts: event.ts,
          source: "online",
          receivedAt: now,
          state: wants(event.event) ? "received" : "processed"
        }
      }
    },
    count: (value) => {
      let labels = tags.get(value.outcome)
      if (labels === undefined) {
        labels = [MetricLabel.make("outcome", value.outcome)]
        tags.set(value.outcome, labels)
      }
      options.received.unsafeUpdate(1, labels)
      if (value.unmatched === true) options.processed.unsafeUpdate(1, unmatched)
    }
  }
}
