/**
 * An outbox entry that has to wait is a durable workflow on Effect's cluster engine: a loop of steps
 * (each an activity, so a crash re-runs at most the step it interrupted) separated by durable waits
 * (the recipient's weekly window, a retry delay), which survive restarts and move to another runner
 * if this one dies. The workflow's idempotency key is the entry id (and its replay generation): one
 * entry, one execution.
 *
 * Most entries never wait: the dispatcher runs an entry's first step at once (`DeliverySteps`), and
 * starts the workflow only when that step answers "wait" (it then begins with that wait), or when the
 * step could not finish (see `internal/dispatcher.ts`). The engine's share of a message (its execution,
 * the activity's messages and replies in the database) was about 9 ms of CPU of the 15 a sent message
 * cost.
 *
 * @since 0.1.0
 */
import { Activity, DurableClock, Workflow } from "@effect/workflow"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { AdmissionKey } from "./Admission.js"
import { Admission } from "./Admission.js"
import type { AdvanceOptions } from "./internal/advance.js"
import { advance, defaultAdvanceOptions, Step } from "./internal/advance.js"
import type { OutboxStore } from "./OutboxStore.js"
import type { PortalSender } from "./PortalSender.js"
import type { PortalState } from "./PortalState.js"
import type { RecipientLedger } from "./RecipientLedger.js"
import type { WeeklyLedger } from "./WeeklyLedger.js"

/**
 * @since 0.1.0
 * @category workflows
 */
export const DeliveryWorkflow = Workflow.make({
  name: "linecast/Delivery",
  /**
   * `generation` counts replays: a replayed entry runs again as a new execution. `delayMs`: a wait
   * before the first step (the step that ran before the workflow asked for it).
   */
  payload: { entryId: Schema.String, generation: Schema.Number, delayMs: Schema.optional(Schema.Number) },
  idempotencyKey: ({ entryId, generation }) => `${entryId}/${generation}`
})

/**
 * The workflow's implementation, as a layer for the engine.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: AdvanceOptions = defaultAdvanceOptions) =>
  DeliveryWorkflow.toLayer(({ entryId, generation, delayMs }) =>
    Effect.gen(function* () {
      if (delayMs !== undefined && delayMs > 0) yield* DurableClock.sleep({ name: "wait-first", duration: delayMs })
      for (let step = 0; ; step++) {
        const activity = Activity.make({
          name: `step-${step}`,
          success: Step,
          execute: advance({ entryId, generation }, options)
        })
        const next = yield* activity.pipe(
          // The engine dies when it loses an activity's message on the way (its runner died, the message is
          // still being processed elsewhere), and a workflow that died is finished for good, its entry stuck.
          // Asking again for the same step waits for that step's own outcome; only if it never comes does the
          // next step run, which settles whatever this one left (see `advance`).
          Effect.sandbox,
          Effect.retry({ while: (cause) => !Cause.isInterrupted(cause), schedule: lostStepRetries }),
          Effect.catchAll((cause) =>
            Cause.isInterrupted(cause)
              ? Effect.failCause(cause)
              : Effect.as(
                  Effect.logWarning("a delivery step was lost; the next one settles it", {
                    entryId,
                    reason: Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : "defect"
                  }),
                  { _tag: "Wait", delayMs: 1_000 } as const
                )
          )
        )
        if (next._tag === "Done") return
        yield* DurableClock.sleep({ name: `wait-${step}`, duration: next.delayMs })
      }
    })
  )

/** 1, 2, 4, 8 and 16 s: about half a minute for a lost step's own outcome to come back. */
const lostStepRetries = Schedule.exponential(Duration.seconds(1)).pipe(Schedule.intersect(Schedule.recurs(5)))

/**
 * One step of an entry, run outside the engine (see above): what the dispatcher runs first. `admission`
 * is the admission the step gives places back to (the dispatcher holds them until a workflow that must
 * wait has started).
 *
 * @since 0.1.0
 * @category steps
 */
export class DeliverySteps extends Context.Tag("@linecast/delivery/DeliverySteps")<
  DeliverySteps,
  {
    readonly step: (key: AdmissionKey, admission: Admission.Service) => Effect.Effect<Step, unknown>
  }
>() {}

/**
 * `DeliverySteps` on this runner's services, with the workflow's options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSteps = (
  options: AdvanceOptions = defaultAdvanceOptions
): Layer.Layer<
  DeliverySteps,
  never,
  Admission | OutboxStore | WeeklyLedger | RecipientLedger | PortalSender | PortalState
> =>
  Layer.effect(
    DeliverySteps,
    Effect.map(
      Effect.context<Admission | OutboxStore | WeeklyLedger | RecipientLedger | PortalSender | PortalState>(),
      (context) =>
        DeliverySteps.of({
          step: (key, admission) =>
            // The given admission over the runner's: the innermost service wins.
            advance(key, options).pipe(Effect.provideService(Admission, admission), Effect.provide(context))
        })
    )
  )
