/**
 * Who may send: operators (an allowlist of Telegram user ids) and operator chats. Everyone else
 * gets a polite refusal, and nothing they send goes further.
 *
 * @since 0.1.0
 */
import { Composer } from "grammy"
import type { RelayOptions } from "../RelayConfig.js"
import type { RelayContext } from "../RelayContext.js"

/** The allowlists as sets, made once for each settings object (every update asks). */
const allowlists = new WeakMap<RelayOptions, { readonly operators: Set<number>; readonly operatorChats: Set<number> }>()

const allowlistsOf = (options: RelayOptions) => {
  let sets = allowlists.get(options)
  if (sets === undefined) {
    sets = { operators: new Set(options.operators), operatorChats: new Set(options.operatorChats) }
    allowlists.set(options, sets)
  }
  return sets
}

/**
 * @since 0.1.0
 * @category features
 */
export const access = new Composer<RelayContext>(async (ctx, next) => {
  const { operators, operatorChats } = allowlistsOf(ctx.relay.options)
  const userId = ctx.from?.id
  const chatId = ctx.chat?.id
  if ((userId !== undefined && operators.has(userId)) || (chatId !== undefined && operatorChats.has(chatId))) {
    return next()
  }
  // Channel posts and service updates have no sender: nothing to answer.
  if (userId === undefined) return
  ctx.relay.log("info", `refused an update from a non-operator (user ${userId})`)
  const refusal = `Sorry, you are not allowed to send messages through this bot, so nothing was sent. An administrator can add your Telegram id (${userId}) to the operators.`
  if (ctx.callbackQuery !== undefined) {
    await ctx.answerCallbackQuery({ text: "Sorry, you are not allowed to use this bot." })
    return
  }
  if (ctx.chat !== undefined) await ctx.reply(refusal)
})
