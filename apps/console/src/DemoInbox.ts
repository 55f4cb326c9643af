/**
 * In demo mode, what the emulated portal's users received: the console shows it so that a newcomer
 * sees the message arrive. Supplied by the CLI (the console never imports the emulator).
 *
 * @since 0.1.0
 */

/**
 * A message as its recipient received it, in the portal's wire shapes (`attach`, `keyboard`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DemoInboxMessage {
  readonly id: number
  readonly userId: number
  readonly lineCode: string
  readonly message: string
  readonly attach: unknown
  readonly keyboard: unknown
  /** Unix ms. */
  readonly receivedAt: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DemoUser {
  readonly id: number
  readonly name: string
}
