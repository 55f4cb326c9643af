/**
 * `/status`: the queue by state, dead letters and whether the portal answers; its Refresh button
 * is a callback query.
 *
 * @since 0.1.0
 */
import { Composer, Context, InlineKeyboard } from "grammy"
import { targetOf } from "../internal/answer.js"
import { when } from "../internal/when.js"
import { status as readStatus } from "../Relay.js"
import type { RelayContext } from "../RelayContext.js"

const statusText = async (ctx: RelayContext): Promise<string> => {
  const result = await ctx.relay.run(readStatus(targetOf(ctx.relay).portal)).then(
    (value) => ({ ok: true as const, value }),
    () => ({ ok: false as const })
  )
  if (!result.ok) return "I cannot read the outbox right now; please try again."
  const { counts, portal } = result.value
  return [
    `Waiting to be sent: ${counts.queued ?? 0} queued, ${counts.sending ?? 0} sending, ${counts.deferred ?? 0} deferred by the weekly rule.`,
    `Not settled: ${counts.ambiguous ?? 0} being checked. Dead letters: ${counts.dead ?? 0}.`,
    `Sent: ${counts.sent ?? 0}.`,
    `Portal: ${portal}.`
  ].join("\n")
}

const refresh = new InlineKeyboard().text("Refresh", "status")

/**
 * @since 0.1.0
 * @category features
 */
export const status = new Composer<RelayContext>(
  when(Context.has.command("status"), async (ctx) => {
    await ctx.reply(await statusText(ctx), { reply_markup: refresh })
  }),
  when(Context.has.callbackQuery("status"), async (ctx) => {
    await ctx.answerCallbackQuery()
    await ctx.reply(await statusText(ctx), { reply_markup: refresh })
  })
)
