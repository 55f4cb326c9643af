/**
 * The length of `json_encode($value, JSON_UNESCAPED_UNICODE)` in characters (`mb_strlen`), which is
 * how the server measures an attachment: `/` is escaped (two characters), control characters and
 * U+2028/U+2029 become `\uXXXX`, any other non-ASCII character counts one.
 */
import type { PhpValue } from "./php.js"

const escapes: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "/": "\\/",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t"
}

export const encodeString = (text: string): string => {
  let out = '"'
  for (const character of text) {
    const escaped = escapes[character]
    if (escaped !== undefined) out += escaped
    else {
      const code = character.codePointAt(0)!
      if (code < 0x20 || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, "0")}`
      else out += character
    }
  }
  return `${out}"`
}

/** PHP's `json_encode`; an empty PHP array is `[]`, a list `[...]`, a keyed array `{...}`. */
export const phpJsonEncode = (value: PhpValue | undefined): string => {
  if (value === undefined || value === null) return "null"
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") return Number.isInteger(value) ? value.toFixed(0) : JSON.stringify(value)
  if (typeof value === "string") return encodeString(value)
  if (Array.isArray(value)) return `[${value.map(phpJsonEncode).join(",")}]`
  const entries = Object.entries(value)
  if (entries.length === 0) return "[]"
  if (entries.every(([key], index) => key === String(index)))
    return `[${entries.map(([, item]) => phpJsonEncode(item)).join(",")}]`
  return `{${entries.map(([key, item]) => `${encodeString(key)}:${phpJsonEncode(item)}`).join(",")}}`
}

/** Whether a string holds a lone surrogate, which is not valid UTF-8: `json_encode` fails on it. */
export const hasLoneSurrogate = (text: string): boolean =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)
