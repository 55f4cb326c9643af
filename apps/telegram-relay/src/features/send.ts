/**
 * `/send <user> <text>` and `/broadcast <group> <text>`: the text after the name keeps its
 * formatting; a photo or a document whose caption is the command goes with it. An unknown name or
 * nothing to send sends nothing and says so.
 *
 * @since 0.1.0
 */
import { Composer, Context } from "grammy"
import { answer, relayAndAnswer } from "../internal/answer.js"
import { commandArguments, draftOf } from "../internal/drafts.js"
import { group, recipient } from "../internal/routing.js"
import { either, when } from "../internal/when.js"
import type { RelayContext } from "../RelayContext.js"

/** The command's target and draft: its text after the name, and the photo or document it captions. */
const argumentsOf = (ctx: RelayContext) => {
  const message = ctx.msg!
  const { target, bodyStart } = commandArguments(message)
  const text = message.text ?? message.caption ?? ""
  const hasMedia = message.text === undefined
  const empty = !hasMedia && (bodyStart >= text.length || text.slice(bodyStart).trim() === "")
  return { target, empty, draft: empty ? undefined : draftOf(message, ctx.relay, bodyStart) }
}

/**
 * A predicate for a photo or document captioned `/name ...` (grammY's `command` reads texts only);
 * `/name@bot` counts when it names this bot.
 */
const captionedWith = (name: string) => (ctx: RelayContext) => {
  const message = ctx.message
  const entity = message?.caption_entities?.find(
    (candidate) => candidate.type === "bot_command" && candidate.offset === 0
  )
  if (message?.caption === undefined || entity === undefined) return false
  const [command, bot] = message.caption.slice(1, entity.length).split("@")
  return command?.toLowerCase() === name && (bot === undefined || bot.toLowerCase() === ctx.me.username.toLowerCase())
}

const sendHandler = async (ctx: RelayContext) => {
  const { target, empty, draft } = argumentsOf(ctx)
  if (target === "" || empty || draft === undefined) {
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
  if (draft._tag === "Refused") return answer(ctx, `Not sent: ${draft.reason}.`)
  return relayAndAnswer(ctx, draft.draft, [to])
}

const broadcastHandler = async (ctx: RelayContext) => {
  const { target, empty, draft } = argumentsOf(ctx)
  if (target === "" || empty || draft === undefined) {
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
  if (draft._tag === "Refused") return answer(ctx, `Not sent: ${draft.reason}.`)
  return relayAndAnswer(ctx, draft.draft, members)
}

/**
 * @since 0.1.0
 * @category features
 */
export const send = new Composer<RelayContext>(
  when(either(Context.has.command("send"), captionedWith("send")), sendHandler),
  when(either(Context.has.command("broadcast"), captionedWith("broadcast")), broadcastHandler)
)
