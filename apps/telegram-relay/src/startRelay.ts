/**
 * The relay on its own runtime, for a process that runs nothing else (`main.ts`): a
 * `ManagedRuntime` over the layer that provides delivery, the portals' channels and the database,
 * and `runRelay` in a scope of it. `stop()` (what SIGTERM calls) closes the relay's scope (no new
 * updates, the ones in flight finish), then the runtime (delivery).
 *
 * @since 0.1.0
 */
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import type { RelayOptions } from "./RelayConfig.js"
import type { RelayRequirements } from "./RelayContext.js"
import type { RunningRelay } from "./runRelay.js"
import { runRelay } from "./runRelay.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface StartedRelay extends RunningRelay {
  /** Stops taking updates, finishes those in flight, closes the relay, then the runtime. */
  readonly stop: () => Promise<void>
}

/**
 * Starts the relay on its own runtime over `layer`; a database or portal that cannot start, or a
 * Telegram that does not answer, fails here rather than on the first update.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startRelay = async <E>(
  options: RelayOptions,
  layer: Layer.Layer<RelayRequirements, E, never>
): Promise<StartedRelay> => {
  const runtime = ManagedRuntime.make(layer)
  const scope = await runtime.runPromise(Scope.make())
  const running = await runtime.runPromise(Scope.extend(runRelay(options), scope)).catch(async (error: unknown) => {
    await runtime.runPromise(Scope.close(scope, Exit.void))
    await runtime.dispose()
    throw error
  })
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= runtime
      .runPromise(Scope.close(scope, Exit.void))
      .then(() => runtime.dispose())
      .then(() => undefined)
    return stopping
  }
  return { ...running, stop }
}
