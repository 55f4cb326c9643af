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
  DeliveryWorkflow.toLayer(({ entryId }) =>
    Effect.gen(function* () {
      for (let step = 0; ; step++) {
        const next = yield* Activity.make({
          name: `step-${step}`,
          success: Step,
          execute: advance(entryId, options)
        })
        if (next._tag === "Done") return
        yield* DurableClock.sleep({ name: `wait-${step}`, duration: next.delayMs })
      }
    })
  )
