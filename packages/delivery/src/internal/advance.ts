/**
 * One step of an outbox entry's life, run as a workflow activity: everything between two durable
 * waits. It reads the entry, claims the recipient's weekly window, applies the policy, sends
 * through core, and records the outcome; it answers `Done` or how long to wait before the next
 * step. Storage failures never lose the entry: the step is simply tried again later.
 */
import type { NetworkMessage } from "@linecast/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { AdmissionKey } from "../Admission.js"
import { Admission } from "../Admission.js"
import { entered } from "../DeliveryMetrics.js"
import type { OutboxEntry } from "../OutboxEntry.js"
import { recipientOf, recordedErrorOf, resting } from "../OutboxEntry.js"
import { OutboxStore } from "../OutboxStore.js"
import { PortalSender } from "../PortalSender.js"
import { PortalState } from "../PortalState.js"
import { RecipientLedger } from "../RecipientLedger.js"
import { WeeklyLedger } from "../WeeklyLedger.js"
import { mergeDigest } from "./digest.js"

/** What the workflow does after a step. */
export const Step = Schema.Union(
  Schema.TaggedStruct("Done", {}),
  Schema.TaggedStruct("Wait", { delayMs: Schema.Number })
)
export type Step = typeof Step.Type

const done: Step = { _tag: "Done" }
const wait = (delayMs: number): Step => ({ _tag: "Wait", delayMs: Math.max(0, Math.ceil(delayMs)) })

export interface AdvanceOptions {
  /** How often a recipient held by another entry is looked at again. */
  readonly heldRetryMs: number
  /** Waits between attempts for errors known not to have executed (rate limits, 5xx before running). */
  readonly retryDelaysMs: ReadonlyArray<number>
  /** Re-sends that try to settle an ambiguous send before it is left to an operator. */
  readonly reconcileAttempts: number
  /**
   * How long a step waits for the portal's holder to answer a send. Past it, the entry stays `sending` and
   * the next step settles the attempt (see below): a holder whose runner died never answers.
   */
  readonly replyTimeoutMs: number
}

export const defaultAdvanceOptions: AdvanceOptions = {
  heldRetryMs: 1_000,
  retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000],
  reconcileAttempts: 5,
  replyTimeoutMs: 120_000
}

const pending = ["queued", "deferred"] as const

export const advance = (key: AdmissionKey, options: AdvanceOptions = defaultAdvanceOptions) =>
  Effect.flatMap(Admission, (admission) =>
    Effect.tap(step(key.entryId, options), (next) =>
      // A long wait is not a stall: admission looks at the entry again once the wait is over.
      next._tag === "Wait" && next.delayMs >= 1_000
        ? Effect.flatMap(Clock.currentTimeMillis, (now) => admission.touch([key], now + next.delayMs)).pipe(
            Effect.ignoreLogged
          )
        : Effect.void
    )
  )

const step = (entryId: string, options: AdvanceOptions) =>
  Effect.gen(function* () {
    const store = yield* OutboxStore
    const ledger = yield* WeeklyLedger
    // Every change to the recipient's window goes through the recipient's entity.
    const recipients = yield* RecipientLedger
    const sender = yield* PortalSender
    const portalState = yield* PortalState
    const admission = yield* Admission
    const now = yield* Clock.currentTimeMillis
    const found = yield* store.get(entryId)
    if (Option.isNone(found)) return yield* Effect.as(admission.forget([entryId]), done)
    const entry = found.value
    const place = (of: OutboxEntry) => ({ entryId: of.id, generation: of.generation })
    if (entry.state === "sent" || entry.state === "dead")
      return yield* Effect.as(admission.release([place(entry)]), done)
    const recipient = recipientOf(entry)
    // Every save goes through `current`, so that each is checked against the one before.
    let current = entry
    const save = (changes: Partial<OutboxEntry>) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => store.save({ ...current, ...changes, updatedAt: at })).pipe(
        Effect.tap((saved) =>
          Effect.suspend(() => {
            const changed = saved.state !== current.state
            current = saved
            if (!changed) return Effect.void
            // At rest, its workflow gives its place in admission to the next entry.
            return Effect.zipRight(
              entered(saved.state),
              resting(saved.state) ? admission.release([place(saved)]) : Effect.void
            )
          })
        )
      )
    /**
     * A send that went out is saved whatever happened to the entry meanwhile (another step of it, cut off
     * elsewhere, may have saved it since): losing it would send the message again.
     */
    const saveSent = (changes: Partial<OutboxEntry>) =>
      save(changes).pipe(
        Effect.catchTag("OutboxConflictError", () =>
          Effect.flatMap(store.get(entry.id), (fresh) => {
            if (Option.isNone(fresh) || fresh.value.state === "sent") return Effect.void
            current = fresh.value
            return Effect.asVoid(save(changes))
          })
        ),
        Effect.asVoid
      )

    if (entry.notBefore !== undefined && entry.notBefore > now) return wait(entry.notBefore - now)
    const exempt = ledger.options.exemptPortals.includes(entry.portal)
    // Left ambiguous on a portal without the weekly rule, an entry waits for an operator: only a replay (which
    // starts its attempts afresh) sends it again, never a step that finds it so.
    if (entry.state === "ambiguous" && exempt && entry.attempts > 0) {
      return yield* Effect.as(admission.release([place(entry)]), done)
    }

    // An entry left `sending` (its step died, or another step of it still runs elsewhere) may have landed,
    // unless its attempt never reached the portal's holder: recording that attempt here first closes it for
    // good (the holder refuses an attempt already recorded), and proves it never went out.
    let reconciling = entry.state === "ambiguous" || entry.uncertain === true
    if (entry.state === "sending") {
      const previous = `${entry.id}/${entry.generation}/${entry.attempts}`
      const closed = yield* portalState.begin(entry.portal, [previous], now)
      // Proving this attempt never went out proves nothing about an earlier one that may have landed.
      reconciling = reconciling || !closed.has(previous)
    }
    if (reconciling && exempt && entry.state === "sending") {
      // Without the weekly rule a resend proves nothing and could duplicate: an operator decides.
      yield* save({
        state: "ambiguous",
        lastError: {
          tag: "AttemptInterruptedError",
          code: "ATTEMPT_INTERRUPTED",
          errorClass: "ambiguous",
          message: "A send was cut off and may have landed; this portal has no weekly rule to prove it either way"
        }
      })
      yield* recipients.release(recipient, entry.id)
      return done
    }

    const claim = yield* recipients.claim(recipient, entry.id, now)
    if (claim._tag === "Held") {
      // A holder that settled but died before recording its send (or releasing) must not block the recipient.
      const holder = yield* store.get(claim.by)
      const settled = Option.isNone(holder) || holder.value.state === "sent" || holder.value.state === "dead"
      if (!settled) return wait(options.heldRetryMs)
      const sentAt = Option.isSome(holder) && holder.value.state === "sent" ? holder.value.receipt?.sentAt : undefined
      yield* sentAt === undefined ? recipients.release(recipient, claim.by) : recipients.record(recipient, sentAt)
      return wait(0)
    }
    if (claim._tag === "Blocked") {
      if (entry.policy === "reject") {
        yield* save({
          state: "dead",
          lastError: recordedErrorOf({
            _tag: "UserMessageLimitError",
            code: "USER_MESSAGE_LIMIT",
            errorClass: "quota",
            message: "The recipient was already written to in this window",
            nextAllowedAt: claim.until
          })
        })
        return done
      }
      yield* save({ state: "deferred", nextAllowedAt: claim.until })
      return wait(claim.until - now)
    }

    // The window is ours. Apply the policy to what is pending for the recipient.
    // Only `replace` and `digest` look at the rest of the recipient's queue.
    const others =
      !reconciling && (entry.policy === "replace" || entry.policy === "digest")
        ? (yield* store.list({ recipient, state: [...pending], limit: 1_000 })).filter((other) => other.id !== entry.id)
        : []
    let members: ReadonlyArray<OutboxEntry> = [entry]
    let message: NetworkMessage.NetworkMessage = entry.message
    if (!reconciling && entry.policy === "replace") {
      const newer = others.filter((other) => other.policy === "replace" && other.createdAt > entry.createdAt)
      if (newer.length > 0) {
        const newest = newer[newer.length - 1]!
        yield* save({
          state: "dead",
          lastError: recordedErrorOf({
            _tag: "Replaced",
            code: "REPLACED",
            message: `Replaced by the newer message ${newest.id}`
          })
        })
        yield* recipients.release(recipient, entry.id)
        return done
      }
    }
    if (!reconciling && entry.policy === "digest") {
      const merged = yield* mergeDigest([entry, ...others.filter((other) => other.policy === "digest")])
      members = merged.members
      message = merged.message
    }

    const attempts = entry.attempts + 1
    yield* save({ state: "sending", attempts, ...(reconciling ? { uncertain: true } : {}) })
    // The attempt's id is recorded by the portal's holder before it sends: see PortalEntity.
    const answered = yield* sender
      .send(entry.portal, `${entry.id}/${entry.generation}/${attempts}`, message)
      .pipe(Effect.either, Effect.timeoutOption(Duration.millis(options.replyTimeoutMs)))
    if (Option.isNone(answered)) {
      // Left `sending`: the next step closes this attempt if the holder never began it, else reconciles.
      yield* Effect.logWarning("no answer from the portal's holder; the attempt is settled by the next step", {
        entryId
      })
      return wait(0)
    }
    const outcome = answered.value
    const after = yield* Clock.currentTimeMillis

    if (Either.isRight(outcome)) {
      const receipt = { requestId: outcome.right.requestId, sentAt: after }
      yield* saveSent({ state: "sent", settlement: reconciling ? "resent" : "sent", receipt })
      // While the claim is still ours, no other step can save these entries.
      for (const member of members) {
        if (member.id === entry.id) continue
        yield* store.save({
          ...member,
          state: "sent",
          settlement: "merged",
          mergedInto: entry.id,
          receipt,
          updatedAt: after
        })
        yield* admission.release([place(member)])
      }
      if (!reconciling && entry.policy === "replace") {
        const replaced = recordedErrorOf({
          _tag: "Replaced",
          code: "REPLACED",
          message: `Replaced by the newer message ${entry.id}`
        })
        for (const older of others.filter(
          (other) => other.policy === "replace" && other.createdAt <= entry.createdAt
        )) {
          yield* store.save({ ...older, state: "dead", lastError: replaced, updatedAt: after })
          yield* admission.release([place(older)])
        }
      }
      yield* recipients.record(recipient, after)
      return done
    }

    const error = outcome.left.error
    const errorClass = error.errorClass

    if (error.code === "USER_MESSAGE_LIMIT") {
      const lastSent = yield* recipients.lastSent(recipient)
      const ourWindow = lastSent === undefined || lastSent <= after - ledger.options.windowMs
      if (reconciling && ourWindow) {
        // Nobody else sent in the window and we hold the claim: the lost answer was a success.
        // Saved first: a step that dies in between leaves a claimed, unrecorded window, which the entry
        // (now sent) no longer needs; the reverse would leave a recorded window and an unsent entry.
        yield* save({ state: "sent", settlement: "landed", receipt: { requestId: "", sentAt: entry.updatedAt } })
        yield* recipients.record(recipient, entry.updatedAt)
        return done
      }
      const until = yield* recipients.learn(recipient, after)
      if (entry.policy === "reject") {
        yield* save({
          state: "dead",
          lastError: { ...error, errorClass: "quota", nextAllowedAt: until }
        })
        return done
      }
      yield* save({ state: "deferred", nextAllowedAt: until, lastError: error })
      return wait(until - after)
    }

    if (errorClass === "ambiguous") {
      const tries = entry.state === "ambiguous" ? attempts : 1
      if (exempt || tries > options.reconcileAttempts) {
        // Without the weekly rule a re-send cannot prove anything: an operator decides.
        yield* save({ state: "ambiguous", lastError: error })
        yield* recipients.release(recipient, entry.id)
        return done
      }
      // Keep the claim: nothing else may go to this recipient until we know.
      yield* save({ state: "ambiguous", lastError: error })
      return wait(options.retryDelaysMs[Math.min(tries - 1, options.retryDelaysMs.length - 1)]!)
    }

    if (errorClass === "retryable" || errorClass === "rateLimited") {
      // A rate limit (the bucket, the method's operating time) refused before anything ran and lifts by itself: no
      // number of them makes a message undeliverable, so they wait at the longest delay instead of running out.
      const last = options.retryDelaysMs.length - 1
      const delay = options.retryDelaysMs[errorClass === "rateLimited" ? Math.min(attempts - 1, last) : attempts - 1]
      if (delay !== undefined) {
        yield* save({ state: reconciling ? entry.state : "queued", lastError: error })
        yield* recipients.release(recipient, entry.id)
        return wait(delay)
      }
    }

    // A reconciling entry's earlier attempt may have landed: a dead letter would invite a replay, and a
    // duplicate. It is left ambiguous, for an operator.
    yield* save({ state: reconciling ? "ambiguous" : "dead", lastError: error })
    yield* recipients.release(recipient, entry.id)
    return done
  }).pipe(
    // The database is down or confused: nothing is lost, the step runs again.
    Effect.catchTag("OutboxStorageError", (error) =>
      Effect.as(
        Effect.logWarning("outbox step postponed", { entryId, reason: error.message }),
        wait(options.heldRetryMs)
      )
    ),
    // Someone saved the entry since this step read it: decide again from what is stored.
    Effect.catchTag("OutboxConflictError", () => Effect.succeed(wait(0)))
  )
