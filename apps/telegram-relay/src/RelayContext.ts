/**
 * The context every handler sees: grammY's `Context` plus `ctx.relay`, the relay's services (its
 * settings, the runtime that runs its effects, media links, albums).
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Outbox, PortalChannels } from "@linecast/delivery"
import type * as Effect from "effect/Effect"
import type { Context } from "grammy"
import type { Message } from "grammy/types"
import type { Outcome } from "./Outcome.js"
import type { RelayRequest } from "./Relay.js"
import type { RelayOptions } from "./RelayConfig.js"

/**
 * What the relay needs from its context: delivery's outbox, the portals' channels (for `/status`),
 * and the database delivery uses (the relay keeps its reports and album parts there).
 *
 * @since 0.1.0
 * @category models
 */
export type RelayRequirements = Outbox.Outbox | PortalChannels.PortalChannels | SqlClient.SqlClient

/**
 * @since 0.1.0
 * @category models
 */
export interface RelayServices {
  readonly options: RelayOptions
  /** The bot's own id: part of every idempotency key. */
  readonly botId: number
  /** Runs an effect on the relay's runtime (delivery's outbox, the portal's channels, the database). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, RelayRequirements>) => Promise<A>
  /**
   * Relays one message with the others that arrive at the same time (`Relay.relayAll`): answers
   * each recipient's outcome once its entry and its report are stored.
   */
  readonly relay: (request: RelayRequest) => Promise<ReadonlyArray<Outcome>>
  /** A signed, expiring link to a Telegram file, served by the relay. */
  readonly mediaLink: (target: {
    readonly fileId: string
    readonly name: string
    readonly mimeType?: string | undefined
  }) => string
  /** Keeps one part of an album (a media group) until the album is complete. */
  readonly albumPart: (message: Message, updateId: number) => Promise<void>
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
