/**
 * The context every handler sees: grammY's `Context` plus `ctx.relay`, the relay's services (its
 * settings, the one `ManagedRuntime` that runs its effects, media links, follow-ups).
 *
 * @since 0.1.0
 */
import type { Outbox, PortalChannels } from "@linecast/delivery"
import type * as Effect from "effect/Effect"
import type { Context } from "grammy"
import type { Outcome } from "./Outcome.js"
import type { RelayOptions } from "./RelayConfig.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RelayServices {
  readonly options: RelayOptions
  /** The bot's own id: part of every idempotency key. */
  readonly botId: number
  /** Runs an effect on the relay's runtime (delivery's outbox and the portal's channels). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Outbox.Outbox | PortalChannels.PortalChannels>) => Promise<A>
  /** A signed, expiring link to a Telegram file, served by the relay. */
  readonly mediaLink: (target: {
    readonly fileId: string
    readonly name: string
    readonly mimeType?: string | undefined
  }) => string
  /** Watches a waiting outcome and tells the chat when it is settled. */
  readonly followUp: (chatId: number, outcome: Outcome) => void
  /** Logs a line with every secret taken out. */
  readonly log: (level: "info" | "warning" | "error", message: string) => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RelayFlavor {
  relay: RelayServices
}

/**
 * @since 0.1.0
 * @category models
 */
export type RelayContext = Context & RelayFlavor
