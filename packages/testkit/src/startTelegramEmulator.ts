/**
 * The Telegram emulator for Promise code: `const telegram = await startTelegramEmulator()`, then
 * `new Bot(telegram.token, { botInfo: telegram.botInfo, client: { apiRoot: telegram.apiRoot } })`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { TelegramEmulatorInfo, TelegramEmulatorOptions } from "./TelegramEmulator.js"
import { make } from "./TelegramEmulator.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RunningTelegramEmulator extends TelegramEmulatorInfo {
  /** Stops the server, ends long polls and closes its connections. */
  readonly close: () => Promise<void>
}

/**
 * Starts a Telegram Bot API emulator on 127.0.0.1 (a free port unless one is given).
 *
 * @since 0.1.0
 * @category constructors
 */
export const startTelegramEmulator = async (
  options: TelegramEmulatorOptions = {}
): Promise<RunningTelegramEmulator> => {
  const scope = Effect.runSync(Scope.make())
  const emulator = await Effect.runPromise(Scope.extend(make(options), scope))
  return { ...emulator, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
