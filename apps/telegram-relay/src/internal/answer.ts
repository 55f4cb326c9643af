/** Relays a draft and tells the sender the outcome, in the same words whatever the feature. */
import { words } from "../Outcome.js"
import type { Draft, Recipient, RelayTarget } from "../Relay.js"
import { idempotencyKey } from "../Relay.js"
import type { RelayContext, RelayServices } from "../RelayContext.js"

export const targetOf = (services: RelayServices): RelayTarget => ({
  lineCode: services.options.routing.lineCode,
  portal: services.options.portal,
  policy: services.options.policy
})

/** A reply to the message that caused it (sent even when that message is gone). */
export const answer = (ctx: RelayContext, text: string) =>
  ctx.reply(text, {
    ...(ctx.msg?.message_id === undefined
      ? {}
      : { reply_parameters: { message_id: ctx.msg.message_id, allow_sending_without_reply: true } })
  })

/** Relays a draft and answers with what delivery accepted; the final outcome is reported later. */
export const relayAndAnswer = async (
  ctx: RelayContext,
  draft: Draft,
  recipients: ReadonlyArray<Recipient>
): Promise<void> => {
  const services = ctx.relay
  const updateId = ctx.update.update_id
  const outcomes = await services.relay({
    draft,
    recipients,
    target: targetOf(services),
    key: (userId) => idempotencyKey(services.botId, updateId, userId),
    origin: { chatId: ctx.chat!.id, messageId: ctx.msg!.message_id }
  })
  await answer(ctx, outcomes.map(words).join("\n"))
}
