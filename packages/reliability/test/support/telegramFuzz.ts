/**
 * Hostile Telegram updates from a seeded generator (see `fuzz.ts`), so that a failing input can be
 * found again: bodies that are not JSON or not an update, updates of kinds the relay does not take,
 * messages broken in one field, deep nesting, and entities whose offsets and lengths point anywhere.
 */
import type { random } from "./fuzz.js"

type Rng = ReturnType<typeof random>

export interface Sender {
  readonly userId: number
  /** The chat; the sender's private chat by default. */
  readonly chatId?: number
}

const user = (id: number) => ({ id, is_bot: false, first_name: `user${id}`, username: `user_${id}` })

/** A well-formed text message update, as the Bot API sends it. */
export const textUpdate = (
  updateId: number,
  from: Sender,
  text: string,
  entities: ReadonlyArray<unknown> = []
): Record<string, unknown> => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: from.chatId ?? from.userId, type: "private", first_name: `user${from.userId}` },
    from: user(from.userId),
    text,
    ...(entities.length === 0 ? {} : { entities })
  }
})

/** `/send <userId> <text>` with its `bot_command` entity. */
export const sendCommand = (
  updateId: number,
  from: Sender,
  to: number,
  text: string,
  entities: ReadonlyArray<unknown> = []
): Record<string, unknown> =>
  textUpdate(updateId, from, `/send ${to} ${text}`, [{ type: "bot_command", offset: 0, length: 5 }, ...entities])

const pieces = [
  "[b]",
  "[/b]",
  "[url=javascript:alert(1)]x[/url]",
  "[USER=1]",
  "[img]http://127.0.0.1/x[/img]",
  "<script>",
  "\u202e",
  "\u200b",
  "\u0000",
  "\uD800",
  "\uDFFF",
  "🙂",
  "👨‍👩‍👧‍👦",
  "é",
  "\r\n",
  "%00",
  // A template placeholder, as plain text.
  "$" + "{x}",
  "{{TITLE}}",
  "/send",
  "@everyone"
]

/** Text with BB-code look-alikes, lone surrogates, control and direction characters. */
export const hostileText = (rng: Rng, marker: string): string => {
  const parts = [marker]
  for (let index = rng.int(30); index > 0; index--) parts.push(rng.pick(pieces))
  if (rng.int(10) === 0) parts.push("x".repeat(3_000 + rng.int(2_000)))
  return parts.join(rng.pick(["", " ", "\n"]))
}

const entityTypes = [
  "bold",
  "italic",
  "underline",
  "strikethrough",
  "spoiler",
  "code",
  "pre",
  "text_link",
  "text_mention",
  "mention",
  "url",
  "email",
  "custom_emoji",
  "blockquote",
  "expandable_blockquote",
  "bot_command",
  "no_such_type",
  ""
]

const anyNumber = (rng: Rng): unknown =>
  rng.pick([0, -1, -2_147_483_648, 2_147_483_647, 2 ** 53, 1.5, -0.5, rng.int(50), rng.int(10_000), "3", null, {}])

/** Entities over and past the text: negative, huge, fractional, overlapping, of unknown types and odd fields. */
export const chaosEntities = (rng: Rng, textLength: number): ReadonlyArray<unknown> => {
  const entities: Array<unknown> = []
  for (let index = 1 + rng.int(12); index > 0; index--) {
    const inside = rng.int(3) !== 0
    const offset = inside ? rng.int(Math.max(1, textLength + 2)) : anyNumber(rng)
    const length = inside ? rng.int(Math.max(1, textLength + 5)) : anyNumber(rng)
    entities.push({
      type: rng.pick(entityTypes),
      offset,
      length,
      ...(rng.int(3) === 0
        ? { url: rng.pick(["javascript:alert(1)", "http://127.0.0.1/[b]", "", "ftp://x", "tg://user?id=1"]) }
        : {}),
      ...(rng.int(5) === 0 ? { user: rng.pick([{}, { id: "x" }, user(1), null]) } : {}),
      ...(rng.int(5) === 0 ? { language: rng.pick(["<b>", "js]", "", "x".repeat(300)]) } : {}),
      ...(rng.int(8) === 0 ? { custom_emoji_id: rng.pick(["", "1", {}]) } : {})
    })
  }
  return entities
}

const updateKinds = [
  "edited_message",
  "channel_post",
  "edited_channel_post",
  "business_message",
  "message_reaction",
  "inline_query",
  "chosen_inline_result",
  "shipping_query",
  "pre_checkout_query",
  "poll",
  "poll_answer",
  "my_chat_member",
  "chat_member",
  "chat_join_request",
  "chat_boost",
  "purchased_paid_media",
  "no_such_kind"
]

/** An update of a kind the relay does not take (or no kind at all), its payload shaped like a message. */
export const unknownKind = (rng: Rng, updateId: number, from: Sender, to: number): Record<string, unknown> => {
  const message = (sendCommand(updateId, from, to, `unknown-kind ${updateId}`).message ?? {}) as object
  const kind = rng.pick(updateKinds)
  return rng.int(6) === 0 ? { update_id: updateId } : { update_id: updateId, [kind]: { ...message, id: updateId } }
}

/** A `/send` from `from` broken in one field (named in `flaw`): none of these is a message Telegram would send. */
export const malformed = (
  rng: Rng,
  updateId: number,
  from: Sender,
  to: number
): { readonly update: Record<string, unknown>; readonly flaw: string } => {
  const update = sendCommand(updateId, from, to, `malformed ${updateId}`)
  const message = update.message as Record<string, unknown>
  const broken: Record<string, unknown> = { ...message }
  const flawed = (flaw: string, value: unknown) => ({
    update: { ...update, message: broken },
    flaw: `${flaw} ${JSON.stringify(value) ?? "undefined"}`
  })
  // Only fields the relay reads are broken (a wrong `date` is harmless to it).
  switch (rng.int(11)) {
    case 0:
      broken.text = rng.pick([42, ["/send", String(to), "x"], { toString: "x" }, true])
      return flawed("text", broken.text)
    case 1:
      delete broken.chat
      return flawed("chat", undefined)
    case 2:
      broken.chat = { id: rng.pick([String(from.userId), null, {}, -0.5]), type: "private" }
      return flawed("chat", broken.chat)
    case 3:
      delete broken.from
      return flawed("from", undefined)
    case 4:
      broken.from = { id: rng.pick([String(from.userId), null, [], 1.5]), is_bot: false, first_name: "x" }
      return flawed("from", broken.from)
    case 5:
      broken.entities = rng.pick(["bot_command", { type: "bot_command", offset: 0, length: 5 }, 7, [null], [[]]])
      return flawed("entities", broken.entities)
    case 6:
      delete broken.message_id
      return flawed("message_id", undefined)
    case 7: {
      const id = rng.pick([String(updateId), -updateId, null, updateId + 0.5, [updateId]])
      return { update: { ...update, update_id: id }, flaw: `update_id ${JSON.stringify(id)}` }
    }
    case 8: {
      const value = rng.pick([null, "x", 1, [], [message]])
      return { update: { update_id: updateId, message: value }, flaw: `message ${JSON.stringify(value).slice(0, 20)}` }
    }
    case 9:
      // Sent by a bot, another user's identity in the reply.
      broken.reply_to_message = { ...message, from: user(from.userId + 1) }
      broken.from = { ...(broken.from as object), is_bot: true }
      return flawed("from", broken.from)
    default:
      broken.from = { ...(broken.from as object), id: from.userId, is_bot: "no" }
      broken.chat = { ...(broken.chat as object), type: "no_such_type" }
      broken.text = 42
      return flawed("from, chat and text", [broken.from, broken.chat, broken.text])
  }
}

/** A message whose `reply_to_message` chain is `depth` deep (Telegram sends one level). */
export const deepReplies = (updateId: number, from: Sender, to: number, depth: number): string => {
  const head = JSON.stringify(sendCommand(updateId, from, to, `deep ${updateId}`))
  const inner = JSON.stringify({ message_id: 1, date: 0, chat: { id: 1, type: "private" }, text: "x" })
  // Built as text: a value this deep would take the generator's own stack.
  const chain = `${'{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"reply_to_message":'.repeat(depth)}${inner}${"}".repeat(depth)}`
  return `${head.slice(0, -2)},"reply_to_message":${chain}}}`
}

/** Bodies that are not one update: random bytes, bracket soup, cut JSON, JSON of another shape, deep arrays. */
export const junkBody = (rng: Rng, updateId: number, from: Sender, to: number): string | Uint8Array => {
  switch (rng.int(6)) {
    case 0: {
      const bytes = new Uint8Array(rng.int(2_048))
      for (let index = 0; index < bytes.length; index++) bytes[index] = rng.int(256)
      return bytes
    }
    case 1: {
      const parts: Array<string> = []
      for (let index = rng.int(60); index > 0; index--) {
        parts.push(rng.pick(["{", "}", "[", "]", '"', ":", ",", "update_id", "message", "1", "null", "\\u0000", "\\"]))
      }
      return parts.join("")
    }
    case 2: {
      const whole = JSON.stringify(sendCommand(updateId, from, to, `cut ${updateId}`))
      return whole.slice(0, rng.int(whole.length))
    }
    case 3:
      return rng.pick(["null", "1", '"x"', "[]", "true", "{}", "[{}]", '{"update_id":1e999}', "", " "])
    case 4: {
      const depth = rng.pick([1_000, 10_000, 100_000])
      return `${"[".repeat(depth)}${"]".repeat(depth)}`
    }
    default:
      return `{"update_id":${updateId},"__proto__":{"message":{"text":"/send ${to} polluted","chat":{"id":${from.userId}},"from":{"id":${from.userId}}}}}`
  }
}
