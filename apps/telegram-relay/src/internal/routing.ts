/** Names in commands and chats to Bitrix24 recipients. */
import type { Recipient } from "../Relay.js"
import type { Routing } from "../RelayConfig.js"

const lookup = <A>(record: Readonly<Record<string, A>>, name: string): [string, A] | undefined => {
  const lower = name.toLowerCase()
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === lower) return [key, value]
  return undefined
}

/** A user by name, or a positive id. */
export const recipient = (routing: Routing, name: string): Recipient | undefined => {
  const named = lookup(routing.recipients, name)
  if (named !== undefined) return { name: named[0], userId: named[1] }
  if (/^\d{1,15}$/.test(name) && Number(name) > 0) {
    const userId = Number(name)
    const known = Object.entries(routing.recipients).find(([, id]) => id === userId)
    return { name: known === undefined ? `user ${userId}` : known[0], userId }
  }
  return undefined
}

/** A group's members, named as the recipients list names them. */
export const group = (routing: Routing, name: string): ReadonlyArray<Recipient> | undefined => {
  const found = lookup(routing.groups, name)
  if (found === undefined) return undefined
  return [...new Set(found[1])].map((userId) => recipient(routing, String(userId))!)
}

/** Where plain messages in a chat go: a recipient or a group. */
export const route = (routing: Routing, chatId: number): ReadonlyArray<Recipient> | undefined => {
  const target = routing.routes[String(chatId)]
  if (target === undefined) return undefined
  return (
    group(routing, target) ?? (recipient(routing, target) === undefined ? undefined : [recipient(routing, target)!])
  )
}
