/**
 * Bitrix24 chat markup as a tree: the BB codes a chat renders ([b], [i], [u], [s], [url], [user],
 * [quote], [code], [color], [size], [br], #BR#) and plain text everywhere else. The page renders the
 * tree with Preact, which escapes every text node: nothing in a message can become HTML.
 */

export type BBNode = string | BBElement

export interface BBElement {
  readonly tag: string
  readonly value: string | undefined
  readonly children: ReadonlyArray<BBNode>
}

const known = new Set(["b", "i", "u", "s", "url", "user", "quote", "code", "color", "size"])

const tokenPattern = /\[(\/?)([a-zA-Z]+)(?:=([^\]]*))?\]|#BR#|\n/g

interface Open {
  readonly tag: string
  readonly value: string | undefined
  readonly source: string
  readonly children: Array<BBNode>
}

const push = (into: Array<BBNode>, node: BBNode) => {
  const last = into[into.length - 1]
  if (typeof node === "string" && typeof last === "string") into[into.length - 1] = last + node
  else if (node !== "") into.push(node)
}

/** Parses a message; unknown tags and unmatched ones stay as the text they were. */
export const parse = (text: string): ReadonlyArray<BBNode> => {
  const root: Open = { tag: "", value: undefined, source: "", children: [] }
  const stack: Array<Open> = [root]
  const top = () => stack[stack.length - 1] ?? root
  let at = 0
  for (const match of text.matchAll(tokenPattern)) {
    push(top().children, text.slice(at, match.index))
    at = match.index + match[0].length
    const [source, closing, rawTag, value] = match
    if (source === "#BR#" || source === "\n") {
      push(top().children, { tag: "br", value: undefined, children: [] })
      continue
    }
    const tag = (rawTag ?? "").toLowerCase()
    if (tag === "br" && closing === "") {
      push(top().children, { tag: "br", value: undefined, children: [] })
    } else if (!known.has(tag)) {
      push(top().children, source)
    } else if (closing === "") {
      stack.push({ tag, value, source, children: [] })
    } else {
      const index = stack.map((open) => open.tag).lastIndexOf(tag)
      if (index <= 0) {
        push(top().children, source)
        continue
      }
      // Close everything opened inside it as well.
      while (stack.length > index) {
        const open = stack.pop()!
        push(top().children, { tag: open.tag, value: open.value, children: open.children })
      }
    }
  }
  push(top().children, text.slice(at))
  // Tags never closed were text after all.
  while (stack.length > 1) {
    const open = stack.pop()!
    push(top().children, open.source)
    for (const child of open.children) push(top().children, child)
  }
  return root.children
}

/** Only web links are followed; anything else (javascript:, data:) is shown, never linked. */
export const safeHref = (url: string | undefined): string | undefined => {
  if (url === undefined) return undefined
  try {
    const parsed = new URL(url.trim())
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/** A colour a style may hold: `#rgb`, `#rrggbb` or a plain name. */
export const safeColor = (value: string | undefined): string | undefined =>
  value !== undefined && /^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{1,20})$/.test(value.trim())
    ? value.trim()
    : undefined
