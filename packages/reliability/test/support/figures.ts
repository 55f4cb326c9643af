/** Each test's figures: printed, and written under `.figures/` where the README's table comes from. */
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { full } from "./chaos.js"

export interface Figures {
  /** What the test held: events, sends, restarts, connections. */
  readonly load: string
  readonly faults: number
  readonly inputs: number
  readonly lost: number
  readonly duplicated: number
  readonly leaked: number
  readonly [detail: string]: unknown
}

const folder = fileURLToPath(new URL("../../.figures/", import.meta.url))

export const report = (test: string, figures: Figures): void => {
  const record = { test, mode: full ? "full" : "bounded", at: new Date().toISOString(), ...figures }
  console.log(`[reliability] ${JSON.stringify(record)}`)
  mkdirSync(folder, { recursive: true })
  writeFileSync(`${folder}${test}.${record.mode}.json`, `${JSON.stringify(record, null, 2)}\n`)
}
