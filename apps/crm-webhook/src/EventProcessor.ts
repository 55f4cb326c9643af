/**
 * Turns stored events into outbox entries, after the listener has answered: for each event, the
 * record is fetched through core (with the portal's rate budget), the rules for the event are
 * matched, their templates rendered, and the messages enqueued with an idempotency key derived
 * from the event and the record's state, so that a redelivered event, or the same change seen
 * both online and offline, never becomes a second message.
 *
 * @since 0.1.0
 */
import { Outbox, PortalChannels } from "@linecast/delivery"
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
  }
>() {}

const count = (outcome: string) => Metric.increment(Metric.tagged(processed, "outcome", outcome))

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
    const signal = yield* Queue.sliding<void>(1)

    const rulesFor = (event: string): ReadonlyArray<Rule> => options.rules.rules.filter((rule) => rule.event === event)

    const processOne = (event: InboxEvent) =>
      Effect.gen(function* () {
        const attempts = event.attempts + 1
        const rules = isCrmEvent(event.event) ? rulesFor(event.event) : []
        if (rules.length === 0 || !isCrmEvent(event.event)) {
          yield* inbox.settle(event.id, { state: "processed", attempts })
          return yield* count("unmatched")
        }
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
        Effect.catchAll((error) => {
          const attempts = event.attempts + 1
          // Errors in the rule itself, or a refused message, do not heal by waiting: dead-letter with the reason.
          const permanent =
            error._tag === "TemplateFieldError" ||
            error._tag === "RecipientFieldError" ||
            ("errorClass" in error && (error.errorClass === "permanent" || error.errorClass === "auth")) ||
            attempts >= maxAttempts
          return inbox
            .settle(event.id, { state: permanent ? "dead" : "received", attempts, error: error.message })
            .pipe(
              Effect.zipRight(count(permanent ? "dead" : "retried")),
              Effect.catchAll(() => Effect.void)
            )
        })
      )

    const drain = inbox.pending(100).pipe(
      Effect.flatMap((events) => Effect.as(Effect.forEach(events, processOne, { discard: true }), events.length)),
      Effect.catchAll((error) => Effect.as(Effect.logWarning("event inbox unavailable", { reason: error.message }), 0))
    )

    const interval = Duration.decode(options.pollInterval ?? "1 second")
    yield* Effect.forkScoped(
      Effect.forever(drain.pipe(Effect.zipRight(Effect.race(Queue.take(signal), Effect.sleep(interval)))))
    )
    return EventProcessor.of({ wake: Queue.offer(signal, undefined).pipe(Effect.asVoid), drain })
  })

/**
 * The processor and its background worker, for the life of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ProcessorOptions) => Layer.scoped(EventProcessor, make(options))
