/**
 * Reads an `application/x-www-form-urlencoded` body with bracketed keys as PHP's `http_build_query`
 * writes it (`data[FIELDS][ID]=1&auth[domain]=…`), into nested objects, as `qs` would with
 * `{ depth, parameterLimit, arrayLimit: 0, plainObjects: true }` for every body a portal sends, in
 * a third of its time (this runs for every event). Bounded: pairs past `parameterLimit` are not
 * read, segments past `depth` stay one literal key; objects have no prototype, so no key can reach
 * one. A repeated key gives a list of its values (which the event's schema then refuses).
 */

type Node = { [key: string]: Value }
type Value = string | Array<string> | Node

const decode = (text: string) => {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text
  if (!spaced.includes("%")) return spaced
  try {
    return decodeURIComponent(spaced)
  } catch {
    // A malformed escape is kept as it came, as qs and PHP do.
    return spaced
  }
}

const segmentsOf = (key: string, depth: number): Array<string> => {
  const open = key.indexOf("[")
  if (open <= 0) return [key]
  const segments = [key.slice(0, open)]
  let at = open
  while (at < key.length && segments.length <= depth) {
    const close = key.indexOf("]", at)
    if (key[at] !== "[" || close === -1 || key.lastIndexOf("[", close) !== at) break
    segments.push(key.slice(at + 1, close))
    at = close + 1
  }
  // What is left (too deep, or not brackets) is one more key, kept literally.
  if (at < key.length) segments.push(key.slice(at))
  return segments
}

export const parseForm = (
  body: string,
  options: { readonly depth: number; readonly parameterLimit: number }
): Record<string, unknown> => {
  const root: Node = Object.create(null)
  let start = 0
  for (let count = 0; count < options.parameterLimit && start <= body.length; count++) {
    const ampersand = body.indexOf("&", start)
    const end = ampersand === -1 ? body.length : ampersand
    const part = body.slice(start, end)
    start = end + 1
    if (part === "") continue
    const bracketEquals = part.indexOf("]=")
    const equals = bracketEquals === -1 ? part.indexOf("=") : bracketEquals + 1
    const key = decode(equals === -1 ? part : part.slice(0, equals))
    if (key === "") continue
    const value = equals === -1 ? "" : decode(part.slice(equals + 1))
    const segments = segmentsOf(key, options.depth)
    let node = root
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment]
      if (typeof next === "object" && !Array.isArray(next)) node = next
      else {
        const created: Node = Object.create(null)
        node[segment] = created
        node = created
      }
    }
    const last = segments[segments.length - 1]!
    const existing = node[last]
    node[last] =
      existing === undefined || (typeof existing === "object" && !Array.isArray(existing))
        ? value
        : Array.isArray(existing)
          ? [...existing, value]
          : [existing, value]
  }
  return root
}
