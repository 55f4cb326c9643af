/**
 * PHP's own semantics for the few operations the server applies to request parameters: `trim`,
 * `(int)` casts, `isset`, `empty`, `is_array`, and `Collection::isAssociative`. A parameter decoded
 * from JSON or a bracketed form is a "PHP value": null, a scalar, a list or a keyed map.
 */

/** A value as PHP sees a decoded request parameter. */
export type PhpValue = null | boolean | number | string | ReadonlyArray<PhpValue> | { readonly [key: string]: PhpValue }

/** Thrown where PHP 8 itself would throw a `TypeError` (the server answers 500 then). */
export class PhpTypeError extends Error {}

/** PHP arrays are JSON arrays and objects alike. */
export const isPhpArray = (value: unknown): value is ReadonlyArray<PhpValue> | { readonly [key: string]: PhpValue } =>
  typeof value === "object" && value !== null

/** `isset($array[$key])`: present and not null; false on anything that is not an array. */
export const field = (value: unknown, key: string): PhpValue | undefined => {
  if (!isPhpArray(value)) return undefined
  const found = (value as Record<string, PhpValue>)[key]
  return found === null ? undefined : found
}

export const isSet = (value: PhpValue | undefined): value is Exclude<PhpValue, null> =>
  value !== undefined && value !== null

/** `empty($value)`. */
export const isEmpty = (value: PhpValue | undefined): boolean => {
  if (value === undefined || value === null || value === false || value === 0 || value === "" || value === "0")
    return true
  if (Array.isArray(value)) return value.length === 0
  if (typeof value === "object") return Object.keys(value).length === 0
  return false
}

/** PHP's string conversion of a scalar; arrays make PHP 8 throw in the string functions used here. */
export const stringOf = (value: PhpValue | undefined): string => {
  if (value === undefined || value === null || value === false) return ""
  if (value === true) return "1"
  if (typeof value === "number") return Number.isInteger(value) ? value.toFixed(0) : String(value)
  if (typeof value === "string") return value
  throw new PhpTypeError("Array to string conversion")
}

/** PHP's `trim` strips only these six characters, never other Unicode whitespace. */
export const trim = (value: PhpValue | undefined): string =>
  stringOf(value).replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, "")

const numericPrefix = /^[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/

/** `(int)$value` as PHP 8 casts it: `"12abc"` is 12, `"abc"` is 0, `"1e3"` is 1000, `[]` is 0. */
export const intval = (value: PhpValue | undefined): number => {
  if (value === undefined || value === null || value === false) return 0
  if (value === true) return 1
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : 0
  if (typeof value === "string") {
    const match = numericPrefix.exec(value)
    if (match === null) return 0
    const parsed = Number(match[1])
    return Number.isFinite(parsed) ? Math.trunc(parsed) : 0
  }
  return Array.isArray(value) ? (value.length === 0 ? 0 : 1) : Object.keys(value).length === 0 ? 0 : 1
}

/** `Collection::isAssociative`: keys other than 0..n-1 in order. JSON objects keyed "0", "1"... are lists to PHP. */
export const isAssociative = (value: ReadonlyArray<PhpValue> | { readonly [key: string]: PhpValue }): boolean => {
  if (Array.isArray(value)) return false
  const keys = Object.keys(value)
  return keys.some((key, index) => key !== String(index))
}

/** The values of a PHP array in order (`foreach ($array as $value)`); nothing for a scalar. */
export const valuesOf = (value: PhpValue | undefined): ReadonlyArray<PhpValue> => {
  if (!isPhpArray(value)) return []
  return Array.isArray(value) ? value : Object.values(value)
}

/** `mb_strlen` of UTF-8 text: code points, not UTF-16 units. */
export const characterLength = (text: string): number => {
  let length = 0
  for (const _ of text) length++
  return length
}

/** `preg_match('#^(?:/|https?://)#', $value)`: the server's test of a URL. */
export const isServerUrl = (value: PhpValue | undefined): boolean =>
  isSet(value) && !isPhpArray(value) && /^(?:\/|https?:\/\/)/.test(stringOf(value))

/** The server's colour pattern: `#RGB` or `#RRGGBB`. */
export const isHexColor = (value: PhpValue | undefined): boolean =>
  typeof value === "string" && /^#[a-fA-F0-9]{3}(?:[a-fA-F0-9]{3})?$/.test(value)

/** `preg_replace('/\R/u', ' ', $text)`. */
export const removeNewLine = (text: string): string => text.replace(/\r\n|[\n\v\f\r\x85\u2028\u2029]/g, " ")
