/**
 * Telegram message entities to Bitrix24 BB codes. Telegram marks up text with entities (offsets and
 * lengths in UTF-16 code units, nested but never crossing); every piece of the user's text is escaped
 * with core's `BBCode`, so nothing a Telegram user types can form a tag.
 *
 * @since 0.1.0
 */
import { BBCode } from "@linecast/core"
import type { MessageEntity } from "grammy/types"

/**
 * @since 0.1.0
 * @category models
 */
export interface ConversionOptions {
  /** Telegram usernames (without `@`, lower case) of people who are also Bitrix24 users. */
  readonly mentions?: Readonly<Record<string, number>>
}

interface Node {
  readonly entity: MessageEntity
  readonly start: number
  readonly end: number
  readonly children: Array<Node>
}

/** Entities become a tree: each node holds the entities fully inside it. */
const treeOf = (entities: ReadonlyArray<MessageEntity>, from: number, to: number): Array<Node> => {
  const sorted = entities
    .map((entity) => ({
      entity,
      start: Math.max(entity.offset, from),
      end: Math.min(entity.offset + entity.length, to)
    }))
    .filter((candidate) => candidate.end > candidate.start)
    .sort((a, b) => a.start - b.start || b.end - a.end)
  const roots: Array<Node> = []
  const stack: Array<Node> = []
  for (const candidate of sorted) {
    const node: Node = { ...candidate, children: [] }
    while (stack.length > 0 && stack[stack.length - 1]!.end <= node.start) stack.pop()
    const parent = stack[stack.length - 1]
    // Telegram promises nesting; a crossing entity is clipped to its parent rather than trusted.
    if (parent !== undefined) {
      const clipped: Node = { ...node, end: Math.min(node.end, parent.end) }
      parent.children.push(clipped)
      stack.push(clipped)
    } else {
      roots.push(node)
      stack.push(node)
    }
  }
  return roots
}

const render = (
  text: string,
  nodes: ReadonlyArray<Node>,
  from: number,
  to: number,
  options: ConversionOptions
): BBCode.BBCode => {
  const pieces: Array<BBCode.BBCode | string> = []
  let at = from
  for (const node of nodes) {
    if (node.start > at) pieces.push(text.slice(at, node.start))
    pieces.push(renderNode(text, node, options))
    at = node.end
  }
  if (at < to) pieces.push(text.slice(at, to))
  return BBCode.concat(...pieces)
}

const renderNode = (text: string, node: Node, options: ConversionOptions): BBCode.BBCode => {
  const inner = render(text, node.children, node.start, node.end, options)
  const plain = text.slice(node.start, node.end)
  switch (node.entity.type) {
    case "bold":
      return BBCode.bold(inner)
    case "italic":
      return BBCode.italic(inner)
    case "underline":
      return BBCode.underline(inner)
    case "strikethrough":
      return BBCode.strike(inner)
    case "code":
    case "pre":
      // Code shows as written: the inner entities of a code span are not markup.
      return BBCode.code(plain)
    case "blockquote":
    case "expandable_blockquote":
      return BBCode.quote(inner)
    case "text_link":
      return BBCode.link(node.entity.url, inner)
    case "url":
      return BBCode.link(/^[a-z][a-z0-9+.-]*:\/\//i.test(plain) ? plain : `https://${plain}`, plain)
    case "email":
      return BBCode.link(`mailto:${plain}`, plain)
    case "mention": {
      const userId = options.mentions?.[plain.replace(/^@/, "").toLowerCase()]
      return userId === undefined ? inner : BBCode.mention(userId, plain)
    }
    case "text_mention": {
      const named = node.entity.user?.username
      const username = typeof named === "string" ? named.toLowerCase() : undefined
      const userId = username === undefined ? undefined : options.mentions?.[username]
      return userId === undefined ? inner : BBCode.mention(userId, inner)
    }
    default:
      // Hashtags, cashtags, spoilers, custom emoji, commands, phone numbers: their text as it is.
      return inner
  }
}

/**
 * Converts `text[from, to)` with its entities to BB codes (a command's arguments, a caption).
 *
 * @since 0.1.0
 * @category conversion
 */
export const toBBCode = (
  text: string,
  entities: ReadonlyArray<MessageEntity> = [],
  options: ConversionOptions = {},
  from = 0,
  to = text.length
): string => BBCode.toText(render(text, treeOf(entities, from, to), from, to, options))
