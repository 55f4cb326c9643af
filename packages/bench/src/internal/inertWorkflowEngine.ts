/**
 * A workflow engine that accepts every start and runs nothing: the outbox stores and "starts" as
 * usual, and no workflow ever runs. For measuring what the queue itself costs, apart from the engine.
 */
import { WorkflowEngine } from "@effect/workflow"
import { Effect, Layer } from "effect"

export const layerInertWorkflowEngine: Layer.Layer<WorkflowEngine.WorkflowEngine> = Layer.succeed(
  WorkflowEngine.WorkflowEngine,
  WorkflowEngine.makeUnsafe({
    register: () => Effect.void,
    execute: (_workflow, options) => Effect.succeed(options.executionId) as never,
    poll: () => Effect.succeed(undefined),
    interrupt: () => Effect.void,
    resume: () => Effect.void,
    activityExecute: () => Effect.never,
    deferredResult: () => Effect.succeed(undefined),
    deferredDone: () => Effect.void,
    scheduleClock: () => Effect.void
  })
)
