/**
 * The first check every update passes: it must have the shape Telegram gives the two kinds the relay
 * subscribes to (`message`, `callback_query`), in every field the relay reads. Anything else (a forged
 * or broken body that came with the right secret, a kind nobody asked for, a message from a bot) is
 * dropped without an answer: nothing of it reaches Bitrix24, and Telegram, had it sent it, would not
 * send it again for a 200.
 */
import type { Middleware } from "grammy"
import type { RelayContext } from "../RelayContext.js"

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const isId = (value: unknown): value is number => Number.isSafeInteger(value)
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const optional = (value: unknown, check: (value: unknown) => boolean) => value === undefined || check(value)

const chatTypes = new Set(["private", "group", "supergroup", "channel"])

const person = (value: unknown) =>
  isObject(value) && isId(value.id) && (value.id as number) > 0 && value.is_bot === false

/** The fields an entity of each kind brings with it, as Telegram sends them. */
const entityFields = (entity: Fields) =>
  entity.type === "text_mention"
    ? isObject(entity.user) && isId(entity.user.id)
    : entity.type === "text_link"
      ? typeof entity.url === "string"
      : entity.type === "custom_emoji"
        ? typeof entity.custom_emoji_id === "string"
        : optional(entity.language, (language) => typeof language === "string")

const entities = (value: unknown) =>
  Array.isArray(value) &&
  value.every(
    (entity) =>
      isObject(entity) &&
      typeof entity.type === "string" &&
      isCount(entity.offset) &&
      isCount(entity.length) &&
      entityFields(entity)
  )

const message = (value: unknown): boolean =>
  isObject(value) &&
  isId(value.message_id) &&
  (value.message_id as number) > 0 &&
  typeof value.date === "number" &&
  isObject(value.chat) &&
  isId(value.chat.id) &&
  typeof value.chat.type === "string" &&
  chatTypes.has(value.chat.type) &&
  person(value.from) &&
  optional(value.text, (text) => typeof text === "string") &&
  optional(value.caption, (caption) => typeof caption === "string") &&
  optional(value.entities, entities) &&
  optional(value.caption_entities, entities) &&
  optional(value.media_group_id, (id) => typeof id === "string") &&
  optional(value.photo, Array.isArray) &&
  optional(value.document, isObject) &&
  optional(value.reply_to_message, isObject)

const callbackQuery = (value: unknown): boolean =>
  isObject(value) &&
  typeof value.id === "string" &&
  person(value.from) &&
  optional(value.data, (data) => typeof data === "string") &&
  optional(value.message, isObject)

/** Whether the update is one the relay may act on. */
export const isWellFormed = (update: unknown): boolean => {
  if (!isObject(update) || !isCount(update.update_id)) return false
  const kinds = Object.keys(update).filter((key) => key !== "update_id")
  if (kinds.length !== 1) return false
  return kinds[0] === "message"
    ? message(update.message)
    : kinds[0] === "callback_query" && callbackQuery(update.callback_query)
}

/**
 * @since 0.1.0
 * @category middleware
 */
export const wellFormed: Middleware<RelayContext> = (ctx, next) => {
  if (isWellFormed(ctx.update)) return next()
  return undefined
}
