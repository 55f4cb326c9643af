/**
 * What nobody else handled: unknown commands and anything else get a clear answer.
 *
 * @since 0.1.0
 */
import { Composer, Context } from "grammy"
import { answer } from "../internal/answer.js"
import { when } from "../internal/when.js"
import type { RelayContext } from "../RelayContext.js"

/**
 * @since 0.1.0
 * @category features
 */
export const fallback = new Composer<RelayContext>(
  when(Context.has.filterQuery("message"), (ctx) => {
    const message = ctx.message
    const command = (message.entities ?? message.caption_entities)?.find(
      (entity) => entity.type === "bot_command" && entity.offset === 0
    )
    const name = command === undefined ? undefined : (message.text ?? message.caption ?? "").slice(0, command.length)
    return answer(
      ctx,
      name === undefined
        ? "I cannot relay this, so nothing was sent. Try /help."
        : `I do not know the command ${name}, so nothing was sent. Try /help.`
    )
  }),
  when(Context.has.filterQuery("callback_query"), (ctx) =>
    ctx.answerCallbackQuery({ text: "This button does nothing any more." })
  )
)
