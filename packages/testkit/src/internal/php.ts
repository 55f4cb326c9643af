/**
 * The handful of PHP semantics the Bitrix24 server code relies on, so that the emulator decides
 * exactly as the server does: `intval`, `trim`, `empty`, string conversion and PHP-style
 * query parsing.
 */
import * as Qs from "qs"

/** A value as PHP sees request data: strings, numbers, booleans, null, arrays (lists or maps). */
export type PhpValue = string | number | boolean | null | ReadonlyArray<PhpValue> | { readonly [key: string]: PhpValue }

const numericPrefix = /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/

/** PHP 8 `intval`: leading numeric prefix of a string ("12abc" is 12), truncation of floats. */
export const intval = (value: unknown): number => {
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : 0
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "string") {
    const match = numericPrefix.exec(value)
    if (match === null) return 0
    const parsed = Math.trunc(Number(match[0].trim()))
    return Number.isFinite(parsed) ? parsed : 0
  }
  if (Array.isArray(value)) return value.length > 0 ? 1 : 0
  if (value !== null && typeof value === "object") return Object.keys(value).length > 0 ? 1 : 0
  return 0
}

/**
 * Thrown where PHP 8 itself would throw a `TypeError` (an array passed to `trim`, `mb_strlen` or
 * `preg_match`): the server answers such a request with an internal error, and so does the emulator.
 */
export class PhpTypeError extends Error {
  override readonly name = "PhpTypeError"
}

/** PHP's implicit string conversion for a string function's argument; arrays are a TypeError. */
export const stringOf = (value: unknown): string => {
  if (typeof value === "string") return value
  if (typeof value === "number") return String(value)
  if (typeof value === "boolean") return value ? "1" : ""
  if (value === null || value === undefined) return ""
  throw new PhpTypeError("Argument must be of type string, array given")
}

const phpTrimCharacters = " \t\n\r\0\x0B"

/** PHP `trim` with its default character list (not JavaScript's wider notion of white space). */
export const trim = (value: string): string => {
  let start = 0
  let end = value.length
  while (start < end && phpTrimCharacters.includes(value[start]!)) start++
  while (end > start && phpTrimCharacters.includes(value[end - 1]!)) end--
  return value.slice(start, end)
}

/** PHP `empty`: unset, null, false, 0, 0.0, "", "0" and the empty array. */
export const isEmpty = (value: unknown): boolean => {
  if (value === undefined || value === null || value === false) return true
  if (value === 0 || value === "" || value === "0") return true
  if (Array.isArray(value)) return value.length === 0
  if (typeof value === "object") return Object.keys(value).length === 0
  return false
}

/** Whether a PHP value is an array (a JavaScript list or plain object). */
export const isPhpArray = (value: unknown): value is ReadonlyArray<PhpValue> | { readonly [key: string]: PhpValue } =>
  value !== null && typeof value === "object"

/** The values of a PHP array in order (a list's items or a map's values). */
export const phpValues = (value: ReadonlyArray<PhpValue> | { readonly [key: string]: PhpValue }): Array<PhpValue> =>
  Array.isArray(value) ? [...value] : Object.values(value)

/** PHP's `Collection::isAssociative`: an array whose keys are not exactly 0..n-1. */
export const isAssociative = (value: unknown): boolean => {
  if (!isPhpArray(value) || Array.isArray(value)) return false
  return Object.keys(value).some((key, index) => key !== String(index))
}

/** Parses a query string or form body the way PHP fills `$_GET`/`$_POST` (nested brackets, lists). */
export const parseQuery = (text: string): Record<string, PhpValue> =>
  Qs.parse(text, {
    depth: 32,
    arrayLimit: 10_000,
    parameterLimit: 10_000,
    allowPrototypes: false,
    plainObjects: true,
    ignoreQueryPrefix: true,
    charset: "utf-8"
  }) as Record<string, PhpValue>

/** Upper-cases the top-level keys, as the REST handlers do with `array_change_key_case`. */
export const upperKeys = (params: Record<string, PhpValue>): Record<string, PhpValue> => {
  const result: Record<string, PhpValue> = Object.create(null)
  for (const [key, value] of Object.entries(params)) result[key.toUpperCase()] = value
  return result
}
