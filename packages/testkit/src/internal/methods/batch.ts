/**
 * `batch`, as `CRestProvider::methodsBatch` does it: `cmd[<name>]=<method>?<query>`, at most 50
 * commands (each one past that answers `ERROR_BATCH_LENGTH_EXCEEDED`), `halt` stopping at the first
 * error, `$result[name][FIELD]` references to earlier results, and per-command results keyed by
 * name. The whole batch is one request, so it costs one unit of the leaky bucket.
 */
import type { PhpValue } from "../php.js"
import { isEmpty, isPhpArray, parseQuery, upperKeys } from "../php.js"
import type { Method, Params } from "./method.js"

const maxLength = 50
const refused = new Set(["download", "upload", "batch"])

/** PHP's `json_encode` of an array: `[]` when empty or keyed 0..n-1, an object otherwise. */
const phpArray = (entries: Map<string, unknown>): unknown => {
  const keys = [...entries.keys()]
  if (keys.every((key, index) => key === String(index))) return [...entries.values()]
  return Object.fromEntries(entries)
}

type Collected = Record<"result" | "next" | "total" | "time" | "error", Map<string, unknown>>

/** `CRestUtil::processBatchElement`: replaces `$result[a][B]`-style references in one value. */
const resolveReferences = (value: string, collected: Collected): PhpValue => {
  const pattern = /\$(result|next|total|time|error)([^\s]*)/gi
  let output: PhpValue = value
  for (const match of value.matchAll(pattern)) {
    const path = [...match[2]!.matchAll(/\[([^\]]+)\]/g)].map((part) => part[1]!)
    if (path.length === 0) continue
    const [first, ...rest] = path
    let reached: unknown = collected[match[1]!.toLowerCase() as keyof Collected].get(first!)
    if (reached === undefined) reached = Object.fromEntries(collected[match[1]!.toLowerCase() as keyof Collected])
    else {
      for (const key of rest) {
        if (reached !== null && typeof reached === "object" && key in reached)
          reached = (reached as Record<string, unknown>)[key]
        else break
      }
    }
    if (match[0] === value) return reached as PhpValue
    if (typeof reached === "number") reached = String(reached)
    if (typeof reached !== "string" || typeof output !== "string") continue
    output = output.replace(match[0], reached)
  }
  return output
}

const resolveAll = (value: PhpValue, collected: Collected): PhpValue => {
  if (typeof value === "string") return resolveReferences(value, collected)
  if (Array.isArray(value)) return value.map((item) => resolveAll(item, collected))
  if (isPhpArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveAll(item, collected)]))
  }
  return value
}

export const batch: Method = {
  scope: "_global",
  run: ({ params, invoke }) => {
    const query = upperKeys(params)
    const halt = !isEmpty(query.HALT)
    const collected: Collected = {
      result: new Map(),
      next: new Map(),
      total: new Map(),
      time: new Map(),
      error: new Map()
    }
    const commands = query.CMD
    let count = 0
    for (const [key, command] of isPhpArray(commands) ? Object.entries(commands) : []) {
      let failed = false
      if (count++ >= maxLength) {
        collected.error.set(key, {
          error: "ERROR_BATCH_LENGTH_EXCEEDED",
          error_description: "Max batch length exceeded"
        })
        failed = true
      } else if (typeof command !== "string") {
        continue
      } else {
        const queryStart = command.indexOf("?")
        const method = queryStart >= 0 ? command.slice(0, queryStart) : command
        const subParams = resolveAll(
          parseQuery(queryStart >= 0 ? command.slice(queryStart + 1) : ""),
          collected
        ) as Params
        if (refused.has(method.toLowerCase())) {
          collected.error.set(key, {
            error: "ERROR_BATCH_METHOD_NOT_ALLOWED",
            error_description: "Method is not allowed for batch usage"
          })
          failed = true
        } else {
          const outcome = invoke(method, subParams)
          if ("error" in outcome) {
            collected.error.set(key, outcome.error.body())
            failed = true
          } else {
            collected.result.set(key, outcome.result)
            if (outcome.next !== undefined) collected.next.set(key, outcome.next)
            if (outcome.total !== undefined) collected.total.set(key, outcome.total)
            collected.time.set(key, outcome.time)
          }
        }
      }
      if (failed && halt) break
    }
    return {
      result: phpArray(collected.result),
      result_error: phpArray(collected.error),
      result_total: phpArray(collected.total),
      result_next: phpArray(collected.next),
      result_time: phpArray(collected.time)
    }
  }
}
