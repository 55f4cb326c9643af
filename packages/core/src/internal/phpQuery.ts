/** PHP's `http_build_query`: nested brackets, the way a `batch` command carries its parameters. */
import type { PhpValue } from "./php.js"

const pairs = (prefix: string, value: PhpValue | undefined, out: Array<string>): void => {
  if (value === undefined || value === null) return
  if (typeof value === "object") {
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value)
    for (const [key, item] of entries) pairs(`${prefix}[${key}]`, item, out)
    return
  }
  const text = value === true ? "1" : value === false ? "0" : String(value)
  out.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(text)}`)
}

export const httpBuildQuery = (params: Readonly<Record<string, PhpValue | undefined>>): string => {
  const out: Array<string> = []
  for (const [key, value] of Object.entries(params)) pairs(key, value, out)
  return out.join("&")
}
