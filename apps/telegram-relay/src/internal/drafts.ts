/** A Telegram message (or a command's body) to a draft: BB-code text and an IMAGE or FILE block. */
import { Attachment, BBCode } from "@linecast/core"
import type { Message } from "grammy/types"
import type { Draft } from "../Relay.js"
import type { RelayServices } from "../RelayContext.js"
import { toBBCode } from "../TelegramEntities.js"

export type DraftResult =
  | { readonly _tag: "Draft"; readonly draft: Draft }
  | { readonly _tag: "Refused"; readonly reason: string }

const megabytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`

/** Kinds of messages the relay cannot send, by the field that marks them. */
const unsupportedKinds: ReadonlyArray<readonly [keyof Message, string]> = [
  ["sticker", "a sticker"],
  ["voice", "a voice message"],
  ["video_note", "a video message"],
  ["video", "a video"],
  ["audio", "an audio file"],
  ["animation", "a GIF"],
  ["location", "a location"],
  ["venue", "a venue"],
  ["contact", "a contact"],
  ["poll", "a poll"],
  ["dice", "a dice"],
  ["game", "a game"],
  ["story", "a story"]
]

/** What kind of unsupported message this is, in words. */
export const unsupportedKind = (message: Message): string | undefined => {
  for (const [field, words] of unsupportedKinds) if (message[field] !== undefined) return words
  return undefined
}

/** One message's photo or document as an attachment block, with a word for it; undefined: neither. */
export const mediaOf = (
  message: Message,
  relay: RelayServices
):
  | { readonly _tag: "Media"; readonly block: Attachment.AttachmentBlock; readonly label: string }
  | { readonly _tag: "Refused"; readonly reason: string }
  | undefined => {
  const maxBytes = relay.options.media.maxBytes
  if (message.photo !== undefined && message.photo.length > 0) {
    const largest = message.photo.reduce((best, size) =>
      size.width * size.height > best.width * best.height ? size : best
    )
    if ((largest.file_size ?? 0) > maxBytes) {
      return {
        _tag: "Refused",
        reason: `the photo is ${megabytes(largest.file_size ?? 0)}; the limit is ${megabytes(maxBytes)}`
      }
    }
    const name = `photo-${largest.file_unique_id}.jpg`
    const link = relay.mediaLink({ fileId: largest.file_id, name, mimeType: "image/jpeg" })
    return {
      _tag: "Media",
      block: Attachment.image({ link, name, width: largest.width, height: largest.height }),
      label: "Photo"
    }
  }
  if (message.document !== undefined) {
    const document = message.document
    if ((document.file_size ?? 0) > maxBytes) {
      return {
        _tag: "Refused",
        reason: `the file is ${megabytes(document.file_size ?? 0)}; the limit is ${megabytes(maxBytes)}`
      }
    }
    const name = document.file_name ?? `file-${document.file_unique_id}`
    const link = relay.mediaLink({ fileId: document.file_id, name, mimeType: document.mime_type })
    return {
      _tag: "Media",
      block: Attachment.file({
        link,
        name,
        ...(document.file_size === undefined || document.file_size <= 0 ? {} : { size: document.file_size })
      }),
      label: `File: ${name}`
    }
  }
  return undefined
}

const unsupported = (message: Message): DraftResult => ({
  _tag: "Refused",
  reason: `${unsupportedKind(message) ?? "this kind of message"} cannot be sent to Bitrix24; I relay text, photos and documents`
})

/** A message's text or caption as BB code, from `from` on (after a command and its arguments). */
export const textOf = (message: Message, relay: RelayServices, from = 0): string | undefined => {
  const mentions = relay.options.routing.mentions
  if (message.text !== undefined) return toBBCode(message.text, message.entities ?? [], { mentions }, from)
  if (message.caption === undefined) return undefined
  return toBBCode(message.caption, message.caption_entities ?? [], { mentions }, from)
}

/**
 * The draft of a message; `from` skips the start of its text or caption (a command and its
 * arguments). Photos take the largest size; media over the size limit are refused before anything
 * is stored.
 */
export const draftOf = (message: Message, relay: RelayServices, from = 0): DraftResult => {
  const text = textOf(message, relay, from)
  if (message.text !== undefined) return { _tag: "Draft", draft: { text: text ?? "" } }
  const media = mediaOf(message, relay)
  if (media === undefined) return unsupported(message)
  if (media._tag === "Refused") return media
  return {
    _tag: "Draft",
    draft: {
      text: text === undefined || text.trim() === "" ? BBCode.toText(media.label) : text,
      attachment: [media.block]
    }
  }
}

/**
 * An album (the messages of one media group, in order) as one draft: one block per photo or
 * document, the caption (from `from` on, when it is the command's) as the text.
 */
export const albumDraftOf = (
  parts: ReadonlyArray<Message>,
  relay: RelayServices,
  caption: { readonly message: Message; readonly from: number } | undefined
): DraftResult => {
  const blocks: Array<Attachment.AttachmentBlock> = []
  for (const part of parts) {
    const media = mediaOf(part, relay)
    if (media === undefined) return unsupported(part)
    if (media._tag === "Refused") return media
    blocks.push(media.block)
  }
  const text = caption === undefined ? undefined : textOf(caption.message, relay, caption.from)
  return {
    _tag: "Draft",
    draft: {
      text:
        text === undefined || text.trim() === ""
          ? BBCode.toText(blocks.length === 1 ? "Photo" : `Album (${blocks.length})`)
          : text,
      attachment: blocks
    }
  }
}

/**
 * A command's arguments: the first word after the command, and where the rest begins (an index in
 * the text, so that the rest keeps its entities).
 */
export const commandArguments = (message: Message): { readonly target: string; readonly bodyStart: number } => {
  const text = message.text ?? message.caption ?? ""
  const command = (message.entities ?? message.caption_entities ?? []).find(
    (entity) => entity.type === "bot_command" && entity.offset === 0
  )
  let at = command === undefined ? 0 : command.length
  while (at < text.length && /\s/.test(text[at]!)) at++
  const targetStart = at
  while (at < text.length && !/\s/.test(text[at]!)) at++
  const target = text.slice(targetStart, at)
  while (at < text.length && /\s/.test(text[at]!)) at++
  return { target, bodyStart: at }
}
