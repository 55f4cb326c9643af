/**
 * The digest policy: everything pending for a recipient, merged into one message when the window
 * opens, oldest first: texts one after another, attachment blocks and keyboard rows likewise. An
 * entry that would take the digest past a limit (core's own validation: the attachment size as
 * the server measures it; and a readable text length) waits for the next window.
 */
import { type Attachment, type Keyboard, NetworkMessage } from "@linecast/core"
import * as Effect from "effect/Effect"
import type { OutboxEntry } from "../OutboxEntry.js"

/** Longest digest text, in characters: Bitrix24 takes more, people read less. */
export const maxDigestText = 20_000

const blocksOf = (attachment: Attachment.Attachment | undefined): ReadonlyArray<Attachment.AttachmentBlock> =>
  attachment === undefined ? [] : "blocks" in attachment ? attachment.blocks : attachment

const itemsOf = (keyboard: Keyboard.Keyboard | undefined): ReadonlyArray<typeof Keyboard.KeyboardItem.Type> =>
  keyboard === undefined ? [] : "buttons" in keyboard ? keyboard.buttons : keyboard

const combine = (entries: ReadonlyArray<OutboxEntry>): NetworkMessage.NetworkMessage => {
  const first = entries[0]!.message
  const blocks = entries.flatMap((entry) => blocksOf(entry.message.attachment))
  const rows = entries
    .map((entry) => itemsOf(entry.message.keyboard))
    .filter((items) => items.length > 0)
    .flatMap((items, index) => (index === 0 ? items : [{ type: "NEWLINE" as const }, ...items]))
  return {
    lineCode: first.lineCode,
    userId: first.userId,
    message: entries.map((entry) => entry.message.message).join("\n\n"),
    ...(blocks.length > 0 ? { attachment: blocks } : {}),
    ...(rows.length > 0 ? { keyboard: rows } : {}),
    ...(entries.some((entry) => entry.message.urlPreview === false) ? { urlPreview: false } : {})
  }
}

/** The digest of `entries` (the claiming entry first, then the others oldest first) that fits. */
export const mergeDigest = (entries: ReadonlyArray<OutboxEntry>) =>
  Effect.gen(function* () {
    const ordered = [...entries].sort(
      (left, right) => left.createdAt - right.createdAt || left.id.localeCompare(right.id)
    )
    const claiming = entries[0]!
    let members: Array<OutboxEntry> = [claiming]
    for (const candidate of ordered) {
      if (candidate.id === claiming.id) continue
      const next = [...members, candidate].sort((left, right) => left.createdAt - right.createdAt)
      const message = combine(next)
      if (message.message.length > maxDigestText) break
      const fits = yield* NetworkMessage.validate(message).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
      if (!fits) break
      members = next
    }
    members.sort((left, right) => left.createdAt - right.createdAt)
    return { members, message: combine(members) }
  })
