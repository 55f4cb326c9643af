/**
 * `/send <user> <text>` and `/broadcast <group> <text>`: the text after the name keeps its
 * formatting; an unknown name or a missing text sends nothing and says so.
 *
 * @since 0.1.0
 */
import { Composer } from "grammy"
import { answer, relayAndAnswer } from "../internal/answer.js"
import { commandArguments } from "../internal/drafts.js"
import { group, recipient } from "../internal/routing.js"
import type { RelayContext } from "../RelayContext.js"
import { toBBCode } from "../TelegramEntities.js"

/**
 * @since 0.1.0
 * @category features
 */
export const send = new Composer<RelayContext>()

const bodyOf = (ctx: RelayContext) => {
  const message = ctx.msg!
  const { target, bodyStart } = commandArguments(message)
  const text = message.text ?? ""
  const body =
    bodyStart >= text.length
      ? ""
      : toBBCode(text, message.entities ?? [], { mentions: ctx.relay.options.routing.mentions }, bodyStart)
  return { target, body }
}

send.command("send", async (ctx) => {
  const { target, body } = bodyOf(ctx)
  if (target === "" || body.trim() === "") {
    return answer(ctx, "Usage: /send <user> <text>, for example /send boris Hello! Nothing was sent.")
  }
  const to = recipient(ctx.relay.options.routing, target)
  if (to === undefined) {
    const names = Object.keys(ctx.relay.options.routing.recipients)
    return answer(
      ctx,
      `I do not know "${target}", so nothing was sent. Use a Bitrix24 user id${names.length === 0 ? "" : ` or one of: ${names.join(", ")}`}.`
    )
  }
  return relayAndAnswer(ctx, { text: body }, [to])
})

send.command("broadcast", async (ctx) => {
  const { target, body } = bodyOf(ctx)
  if (target === "" || body.trim() === "") {
    return answer(ctx, "Usage: /broadcast <group> <text>, for example /broadcast sales Meeting at 3. Nothing was sent.")
  }
  const members = group(ctx.relay.options.routing, target)
  if (members === undefined || members.length === 0) {
    const names = Object.keys(ctx.relay.options.routing.groups)
    return answer(
      ctx,
      `There is no group "${target}", so nothing was sent.${names.length === 0 ? "" : ` Groups: ${names.join(", ")}.`}`
    )
  }
  return relayAndAnswer(ctx, { text: body }, members)
})
