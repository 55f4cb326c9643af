/**
 * Who may send: operators (an allowlist of Telegram user ids) and operator chats. Everyone else
 * gets a polite refusal, and nothing they send goes further.
 *
 * @since 0.1.0
 */
import { Composer } from "grammy"
import type { RelayContext } from "../RelayContext.js"

/**
 * @since 0.1.0
 * @category features
 */
export const access = new Composer<RelayContext>()

access.use(async (ctx, next) => {
  const { operators, operatorChats } = ctx.relay.options
  const userId = ctx.from?.id
  const chatId = ctx.chat?.id
  if (
    (userId !== undefined && operators.includes(userId)) ||
    (chatId !== undefined && operatorChats.includes(chatId))
  ) {
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
