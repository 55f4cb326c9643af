/**
 * Turns stored events into outbox entries, after the listener has answered: for each event, the
 * record is fetched through core (with the portal's rate budget), the rules for the event are
 * matched, their templates rendered, and the messages enqueued with an idempotency key derived
 * from the event and the record's state, so that a redelivered event, or the same change seen
 * both online and offline, never becomes a second message.
 *
 * An event whose record cannot be fetched (the portal is down, overloaded, answers 5xx) is tried
 * again later, each time after a longer delay (doubling from `retryDelay` up to `maxRetryDelay`,
 * with some jitter so that events failed together are not retried together), never in a hot loop;
 * after `maxAttempts` it is kept as `dead`, with the reason.
 *
 * The worker runs after the acknowledgements: it is woken when the inbox commits new events, waits
 * `gatherDelay` so that a burst is acknowledged first and processed as one batch, and settles the
 * events no rule asks for with one statement.
 *
 * @since 0.1.0
 */
import { Outbox, PortalChannels } from "@linecast/delivery"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import { entityOf, isCrmEvent } from "./CrmEvent.js"
import { EventInbox, type InboxEvent } from "./EventInbox.js"
import { matches, type Rule, type RuleSet } from "./Rules.js"
import { render } from "./Template.js"

/**
 * Events by outcome: `enqueued` (one or more messages), `unmatched` (no rule), `dead`, `retried`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const processed = Metric.counter("linecast_crm_events_processed", {
  description: "CRM events processed, by outcome"
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ProcessorOptions {
  readonly rules: RuleSet
  /** Attempts for an event whose record cannot be fetched yet (the portal is down, say). Default 8. */
  readonly maxAttempts?: number | undefined
  /** The delay before the second attempt; it doubles with each further one. Default 1 second. */
  readonly retryDelay?: Duration.DurationInput | undefined
  /** The longest delay between two attempts. Default 5 minutes. */
  readonly maxRetryDelay?: Duration.DurationInput | undefined
  /** How long the worker lets new events gather before it processes them. Default 10 millis. */
  readonly gatherDelay?: Duration.DurationInput | undefined
  /** How often the inbox is looked at when nothing signals new events. Default 1 second. */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventProcessor extends Context.Tag("@linecast/crm-webhook/EventProcessor")<
  EventProcessor,
  {
    /** Tells the worker that events are waiting. */
    readonly wake: Effect.Effect<void>
    /** Processes what is waiting now; answers how many events it looked at. */
    readonly drain: Effect.Effect<number>
    /**
     * Whether an event of this name needs work (a rule for it): the listener stores the others as
     * already `processed`, so that the worker never reads them again.
     */
    readonly wants: (event: string) => boolean
  }
>() {}

const counters = new Map<string, Metric.Metric.Counter<number>>()
const count = (outcome: string, by = 1) => {
  let counter = counters.get(outcome)
  if (counter === undefined) {
    counter = Metric.tagged(processed, "outcome", outcome)
    counters.set(outcome, counter)
  }
  return Metric.incrementBy(counter, by)
}

/**
 * The delay after a failed attempt (1 for the first): `first` doubled for each earlier failure, at
 * most `max`, then spread by ±20% (`random` in [0, 1)).
 *
 * @since 0.1.0
 * @category retries
 */
export const retryDelayMs = (attempt: number, first: number, max: number, random: number): number =>
  Math.round(Math.min(max, first * 2 ** Math.max(0, attempt - 1)) * (0.8 + 0.4 * random))

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ProcessorOptions) =>
  Effect.gen(function* () {
    const inbox = yield* EventInbox
    const outbox = yield* Outbox.Outbox
    const channels = yield* PortalChannels.PortalChannels
    const maxAttempts = options.maxAttempts ?? 8
    const firstDelay = Duration.toMillis(Duration.decode(options.retryDelay ?? "1 second"))
    const maxDelay = Duration.toMillis(Duration.decode(options.maxRetryDelay ?? "5 minutes"))
    const gather = Duration.decode(options.gatherDelay ?? "10 millis")
    const signal = yield* Queue.sliding<void>(1)

    const rulesFor = (event: string): ReadonlyArray<Rule> => options.rules.rules.filter((rule) => rule.event === event)

    const processOne = (event: InboxEvent) =>
      Effect.gen(function* () {
        // Only events that need work come here (see `drain`).
        if (!isCrmEvent(event.event)) return
        const attempts = event.attempts + 1
        const rules = rulesFor(event.event)
        const channel = yield* channels.channel(event.portal).pipe(Effect.either)
        if (Either.isLeft(channel)) {
          yield* inbox.settle(event.id, { state: "dead", attempts, error: channel.left.message })
          return yield* count("dead")
        }
        // A deleted record cannot be fetched: its rules see only its id.
        const fields: Readonly<Record<string, unknown>> = event.event.endsWith("DELETE")
          ? { ID: event.entityId }
          : yield* channel.right
              .call(`crm.${entityOf(event.event)}.get`, { id: event.entityId })
              .pipe(Effect.map((receipt) => (receipt.result ?? {}) as Readonly<Record<string, unknown>>))
        const version = String(fields.DATE_MODIFY ?? fields.DATE_CREATE ?? event.ts)
        for (const rule of rules) {
          if (!matches(rule, fields)) continue
          const message = yield* render(rule, fields)
          yield* outbox.enqueue(message, {
            idempotencyKey: `crm:${event.portal}:${rule.name}:${event.event}:${event.entityId}:${version}`,
            portal: rule.portal ?? event.portal,
            policy: rule.policy ?? "defer"
          })
        }
        yield* inbox.settle(event.id, { state: "processed", attempts })
        yield* count("enqueued")
      }).pipe(
        Effect.catchAll((error) =>
          Effect.gen(function* () {
            const attempts = event.attempts + 1
            // Errors in the rule itself, or a refused message, do not heal by waiting: dead-letter with the reason.
            const permanent =
              error._tag === "TemplateFieldError" ||
              error._tag === "RecipientFieldError" ||
              ("errorClass" in error && (error.errorClass === "permanent" || error.errorClass === "auth"))
            if (permanent || attempts >= maxAttempts) {
              const reason = permanent ? error.message : `gave up after ${attempts} attempts: ${error.message}`
              yield* inbox.settle(event.id, { state: "dead", attempts, error: reason })
              return yield* count("dead")
            }
            const now = yield* Clock.currentTimeMillis
            const retryAt = now + retryDelayMs(attempts, firstDelay, maxDelay, Math.random())
            yield* inbox.settle(event.id, { state: "received", attempts, error: error.message, retryAt })
            yield* count("retried")
          }).pipe(Effect.catchAll(() => Effect.void))
        )
      )

    const wants = (event: string) => isCrmEvent(event) && rulesFor(event).length > 0
    // Events no rule asks for (and events Linecast does not act on) are settled together, in one statement.
    const needsWork = (event: InboxEvent) => wants(event.event)
    const page = 100

    const drain = inbox.pending(page).pipe(
      Effect.flatMap((events) =>
        Effect.gen(function* () {
          const idle = events.filter((event) => !needsWork(event))
          if (idle.length > 0) {
            yield* inbox.markProcessed(idle.map((event) => event.id))
            yield* count("unmatched", idle.length)
          }
          yield* Effect.forEach(events.filter(needsWork), processOne, { discard: true })
          return events.length
        })
      ),
      Effect.catchAll((error) => Effect.as(Effect.logWarning("event inbox unavailable", { reason: error.message }), 0)),
      // A defect must not end the worker while the listener goes on accepting events: log it, go on.
      Effect.catchAllDefect((defect) =>
        Effect.as(
          Effect.logError("event processing failed unexpectedly; retrying", {
            reason: defect instanceof Error ? defect.message : "defect"
          }),
          0
        )
      )
    )

    const interval = Duration.decode(options.pollInterval ?? "1 second")
    const woken = Effect.raceAll([Queue.take(signal), inbox.added, Effect.sleep(interval)])
    // A full page means more is waiting: go on at once (every event of the page left the due set).
    yield* Effect.forkScoped(
      Effect.forever(
        drain.pipe(
          Effect.flatMap((looked) => (looked === page ? Effect.void : woken)),
          Effect.zipRight(Effect.sleep(gather))
        )
      )
    )
    return EventProcessor.of({ wake: Queue.offer(signal, undefined).pipe(Effect.asVoid), drain, wants })
  })

/**
 * The processor and its background worker, for the life of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ProcessorOptions) => Layer.scoped(EventProcessor, make(options))
