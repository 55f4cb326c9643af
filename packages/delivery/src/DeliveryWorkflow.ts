/**
 * Each outbox entry is one durable workflow on Effect's cluster engine: a loop of steps (each an
 * activity, so a crash re-runs at most the step it interrupted) separated by durable waits (the
 * recipient's weekly window, a retry delay), which survive restarts and move to another runner if
 * this one dies. The workflow's idempotency key is the entry id (and its replay generation): one
 * entry, one execution.
 *
 * @since 0.1.0
 */
import { Activity, DurableClock, Workflow } from "@effect/workflow"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { AdvanceOptions } from "./internal/advance.js"
import { advance, defaultAdvanceOptions, Step } from "./internal/advance.js"

/**
 * @since 0.1.0
 * @category workflows
 */
export const DeliveryWorkflow = Workflow.make({
  name: "linecast/Delivery",
  /** `generation` counts replays: a replayed entry runs again as a new execution. */
  payload: { entryId: Schema.String, generation: Schema.Number },
  idempotencyKey: ({ entryId, generation }) => `${entryId}/${generation}`
})

/**
 * The workflow's implementation, as a layer for the engine.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: AdvanceOptions = defaultAdvanceOptions) =>
  DeliveryWorkflow.toLayer(({ entryId, generation }) =>
    Effect.gen(function* () {
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
