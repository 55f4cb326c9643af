/**
 * Albums (media groups): each part is kept as it arrives, without an answer; once the album is
 * complete (`flushAlbum`, called by the relay when the group has been quiet for a moment) it goes
 * out as one message with one block per photo or document, to the chat's route or to the
 * `/send` or `/broadcast` its caption names, and the answer replies to its first part.
 *
 * @since 0.1.0
 */
import { Composer, Context } from "grammy"
import type { Message } from "grammy/types"
import { targetOf } from "../internal/answer.js"
import { albumDraftOf, commandArguments } from "../internal/drafts.js"
import { group, recipient, route } from "../internal/routing.js"
import { when } from "../internal/when.js"
import { words } from "../Outcome.js"
import type { Recipient } from "../Relay.js"
import { idempotencyKey } from "../Relay.js"
import type { AlbumKey } from "../RelayAlbums.js"
import * as RelayAlbums from "../RelayAlbums.js"
import type { RelayContext, RelayServices } from "../RelayContext.js"

/** The command a caption starts with (without the bot's name), if any. */
const commandOf = (message: Message): string | undefined => {
  const entity = message.caption_entities?.find(
    (candidate) => candidate.type === "bot_command" && candidate.offset === 0
  )
  if (entity === undefined) return undefined
  return (message.caption ?? "").slice(1, entity.length).split("@")[0]?.toLowerCase()
}

type Addressed =
  | { readonly _tag: "To"; readonly recipients: ReadonlyArray<Recipient>; readonly from: number }
  | { readonly _tag: "Refused"; readonly text: string }

const addressOf = (services: RelayServices, chatId: number, captioned: Message | undefined): Addressed => {
  const routing = services.options.routing
  const command = captioned === undefined ? undefined : commandOf(captioned)
  if (captioned === undefined || command === undefined) {
    const recipients = route(routing, chatId)
    return recipients === undefined
      ? {
          _tag: "Refused",
          text: "This chat has no route, so nothing was sent. Caption an album with /send <user>, or see /help."
        }
      : { _tag: "To", recipients, from: 0 }
  }
  const { target, bodyStart } = commandArguments(captioned)
  if (command === "send") {
    const to = recipient(routing, target)
    return to === undefined
      ? { _tag: "Refused", text: `I do not know "${target}", so nothing was sent.` }
      : { _tag: "To", recipients: [to], from: bodyStart }
  }
  if (command === "broadcast") {
    const members = group(routing, target)
    return members === undefined || members.length === 0
      ? { _tag: "Refused", text: `There is no group "${target}", so nothing was sent.` }
      : { _tag: "To", recipients: members, from: bodyStart }
  }
  return { _tag: "Refused", text: `I cannot send an album with /${command}, so nothing was sent. Try /help.` }
}

/**
 * Sends an album's kept parts as one message and answers the sender. Its idempotency key is its
 * first part's update: an album flushed again (a restart half-way) finds its entry.
 *
 * @since 0.1.0
 * @category albums
 */
export const flushAlbum = async (
  services: RelayServices,
  reply: (chatId: number, messageId: number, text: string) => Promise<unknown>,
  album: AlbumKey
): Promise<void> => {
  const parts = await services.run(RelayAlbums.parts(album))
  const first = parts[0]
  if (first === undefined) return
  const messages = parts.map((part) => part.message)
  const captioned = messages.find((message) => message.caption !== undefined)
  const addressed = addressOf(services, album.chatId, captioned)
  const draft =
    addressed._tag === "Refused"
      ? undefined
      : albumDraftOf(
          messages,
          services,
          captioned === undefined ? undefined : { message: captioned, from: addressed.from }
        )
  let text: string
  if (addressed._tag === "Refused") text = addressed.text
  else if (draft === undefined || draft._tag === "Refused") text = `Not sent: ${draft?.reason ?? "nothing to send"}.`
  else {
    const outcomes = await services.relay({
      draft: draft.draft,
      recipients: addressed.recipients,
      target: targetOf(services),
      key: (userId) => idempotencyKey(services.botId, first.updateId, userId),
      origin: { chatId: album.chatId, messageId: first.message.message_id }
    })
    text = outcomes.map(words).join("\n")
  }
  await services.run(RelayAlbums.flushed(parts.map((part) => part.updateId)))
  await reply(album.chatId, first.message.message_id, text)
}

/**
 * @since 0.1.0
 * @category features
 */
export const albums = new Composer<RelayContext>(
  when(Context.has.filterQuery("message"), (ctx, next) => {
    if (ctx.message.media_group_id === undefined) return next()
    return ctx.relay.albumPart(ctx.message, ctx.update.update_id)
  })
)
