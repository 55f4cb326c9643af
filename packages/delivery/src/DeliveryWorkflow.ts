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
import * as Effect from "effect/Effect"
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
      let defects = 0
      for (let step = 0; ; step++) {
        const next = yield* Activity.make({
          name: `step-${step}`,
          success: Step,
          execute: advance({ entryId, generation }, options)
        }).pipe(
          Effect.tap(() => {
            defects = 0
          }),
          // The engine dies when it loses an activity's message (its runner died, the message is being processed
          // elsewhere): a workflow that died would be finished for good, its entry stuck. The next step settles
          // whatever this one left, safely (see `advance`), so take it after a pause.
          Effect.catchAllDefect((defect) =>
            Effect.as(
              Effect.logWarning("a delivery step was lost; the next one settles it", {
                entryId,
                reason: defect instanceof Error ? defect.message : String(defect)
              }),
              {
                _tag: "Wait",
                delayMs: Math.min(60_000, 1_000 * 2 ** defects++)
              } as const
            )
          )
        )
        if (next._tag === "Done") return
        yield* DurableClock.sleep({ name: `wait-${step}`, duration: next.delayMs })
      }
    })
  )
