/**
 * The bot: a `Bot<RelayContext>` with auto-retry for Telegram's own limits, updates in order per
 * chat, the relay's services on every context, and the feature composers in their order.
 *
 * @since 0.1.0
 */
import { autoRetry } from "@grammyjs/auto-retry"
import { sequentialize } from "@grammyjs/runner"
import * as Redacted from "effect/Redacted"
import { Bot } from "grammy"
import type { UserFromGetMe } from "grammy/types"
import { access } from "./features/access.js"
import { albums } from "./features/albums.js"
import { fallback } from "./features/fallback.js"
import { help } from "./features/help.js"
import { messages } from "./features/messages.js"
import { quota } from "./features/quota.js"
import { send } from "./features/send.js"
import { status } from "./features/status.js"
import { chain } from "./internal/chain.js"
import { describeError } from "./internal/scrub.js"
import { wellFormed } from "./internal/wellFormed.js"
import type { RelayContext, RelayServices } from "./RelayContext.js"

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeBot = (
  services: Omit<RelayServices, "botId">,
  options: {
    readonly botInfo?: UserFromGetMe | undefined
    /** Every update goes through this first (the relay counts updates in flight to stop cleanly). */
    readonly track?: (work: Promise<void>) => void
  } = {}
): Bot<RelayContext> => {
  const settings = services.options
  const bot = new Bot<RelayContext>(Redacted.value(settings.token), {
    ...(options.botInfo === undefined ? {} : { botInfo: options.botInfo }),
    client: {
      ...(settings.apiRoot === undefined ? {} : { apiRoot: settings.apiRoot }),
      // 429s and 5xx are Telegram's own failures: waited out and retried, not lost.
      timeoutSeconds: 60
    }
  })
  bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 120 }))
  const track = options.track
  // The bot's id is known once it is initialised, and does not change: one services object for every update.
  let withId: RelayServices | undefined
  bot.use(
    chain<RelayContext>(
      // Every update goes through this first (the relay counts updates in flight to stop cleanly).
      (_ctx, next) => {
        const work = next()
        track?.(work)
        return work
      },
      // An update that is not what Telegram sends is dropped before anything reads it.
      wellFormed,
      // One chat's updates are handled one after another, in the order Telegram numbered them.
      sequentialize((ctx) => (ctx.chat?.id ?? ctx.from?.id)?.toString()),
      (ctx, next) => {
        if (withId?.botId !== ctx.me.id) withId = { ...services, botId: ctx.me.id }
        ctx.relay = withId
        return next()
      },
      access,
      albums,
      help,
      send,
      quota,
      status,
      messages,
      fallback
    )
  )
  bot.catch(async (error) => {
    services.log("error", `update ${error.ctx.update.update_id} failed: ${describeError(error.error)}`)
    await error.ctx
      .reply("Something went wrong on my side. If it was a message, check /status before sending it again.")
      .catch(() => undefined)
  })
  return bot
}
