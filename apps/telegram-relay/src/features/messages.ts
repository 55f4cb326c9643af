/**
 * Plain messages, photos and documents: sent where the chat's route points.
 *
 * @since 0.1.0
 */
import { Composer, Context } from "grammy"
import { answer, relayAndAnswer } from "../internal/answer.js"
import { draftOf } from "../internal/drafts.js"
import { route } from "../internal/routing.js"
import { when } from "../internal/when.js"
import type { RelayContext } from "../RelayContext.js"

/**
 * @since 0.1.0
 * @category features
 */
export const messages = new Composer<RelayContext>(
  when(Context.has.filterQuery("message"), async (ctx, next) => {
    const message = ctx.message
    // Commands nobody above knew go on to the fallback.
    const entities = message.entities ?? message.caption_entities
    if (entities?.some((entity) => entity.type === "bot_command" && entity.offset === 0)) return next()
    const recipients = route(ctx.relay.options.routing, ctx.chat.id)
    const draft = draftOf(message, ctx.relay)
    if (draft._tag === "Refused") return answer(ctx, `Not sent: ${draft.reason}.`)
    if (recipients === undefined) {
      return answer(ctx, "This chat has no route, so nothing was sent. Use /send <user> <text>, or /help.")
    }
    return relayAndAnswer(ctx, draft.draft, recipients)
  })
)
