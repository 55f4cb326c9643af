/**
 * The portal emulator for Promise code: `const emulator = await startPortalEmulator()`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Emulator } from "./Emulator.js"
import type { PortalEmulatorInfo, PortalEmulatorOptions } from "./PortalEmulator.js"
import { make } from "./PortalEmulator.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RunningPortalEmulator extends PortalEmulatorInfo {
  /** The control API: portals, users, lines, inboxes, counters, the clock. */
  readonly control: Emulator
  /** Stops the server and closes its connections. */
  readonly close: () => Promise<void>
}

/**
 * Starts a portal emulator on 127.0.0.1 (a free port unless one is given).
 *
 * @since 0.1.0
 * @category constructors
 */
export const startPortalEmulator = async (options: PortalEmulatorOptions = {}): Promise<RunningPortalEmulator> => {
  const scope = Effect.runSync(Scope.make())
  const emulator = await Effect.runPromise(Scope.extend(make(options), scope))
  return { ...emulator, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
