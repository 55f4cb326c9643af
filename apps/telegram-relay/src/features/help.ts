/**
 * `/help` and `/start`: what the bot does and how to use it, in plain words.
 *
 * @since 0.1.0
 */
import { Composer, Context } from "grammy"
import { answer } from "../internal/answer.js"
import { when } from "../internal/when.js"
import type { RelayContext } from "../RelayContext.js"

/**
 * @since 0.1.0
 * @category words
 */
export const helpText = (ctx: RelayContext): string => {
  const { routing, policy } = ctx.relay.options
  const names = Object.keys(routing.recipients)
  const groups = Object.keys(routing.groups)
  const route = ctx.chat === undefined ? undefined : routing.routes[String(ctx.chat.id)]
  return [
    "I relay your messages to Bitrix24 users through the open channel.",
    "",
    "/send <user> <text> - send to one person (a name or a Bitrix24 user id)",
    "/broadcast <group> <text> - send to everyone in a group",
    "/quota <user> - when that person can next be written to",
    "/status - the queue, dead letters and whether the portal answers",
    "/help - this text",
    "",
    route === undefined
      ? "Plain messages in this chat go nowhere: use /send."
      : `Plain messages, photos and documents in this chat go to ${route}.`,
    names.length === 0 ? "" : `People: ${names.join(", ")}.`,
    groups.length === 0 ? "" : `Groups: ${groups.join(", ")}.`,
    "",
    `Bitrix24 allows one message a week to each person from an open line. A message over that limit is ${
      policy === "digest" ? "merged with the others into one digest" : "kept and sent"
    } when the week is over, and I tell you the date.`
  ]
    .filter((line, index, lines) => line !== "" || lines[index - 1] !== "")
    .join("\n")
    .trim()
}

/**
 * @since 0.1.0
 * @category features
 */
export const help = new Composer<RelayContext>(
  when(Context.has.command(["help", "start"]), (ctx) => answer(ctx, helpText(ctx)))
)
