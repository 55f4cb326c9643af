/**
 * `pnpm bench [--quick] [--json] [--only <id,...>] [--no-write]`: runs every scenario several times
 * against the emulators on 127.0.0.1 and reports the median and spread of each figure beside its goal.
 * Progress goes to stderr; stdout holds the table, or with `--json` the JSON only. results.md is
 * written beside this package unless `--no-write` or `--only`.
 */
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { stopAll } from "./internal/child.js"
import { machine, markdown, text } from "./Report.js"
import type { RunResult } from "./Scenario.js"
import type { ScenarioSummary } from "./Summary.js"
import { summarize } from "./Summary.js"
import { scenarios } from "./scenarios/index.js"

const args = process.argv.slice(2).filter((arg) => arg !== "--")
const quick = args.includes("--quick")
const json = args.includes("--json")
const onlyAt = args.indexOf("--only")
// A partial run (--only) never replaces the committed table.
const write = !args.includes("--no-write") && onlyAt === -1
const only = onlyAt === -1 ? undefined : new Set((args[onlyAt + 1] ?? "").split(","))
const log = (line: string) => process.stderr.write(`${line}\n`)
// Stdout holds the table or the JSON only: anything logged on the way (the emulators' own logs
// included) goes to stderr.
const print = (text: string) => process.stdout.write(text)
for (const method of ["log", "info", "debug", "warn"] as const) console[method] = console.error
// Children run in their own process groups (so that a timeout ends all they started): end them with us.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    stopAll()
    process.exit(130)
  })
}

const started = performance.now()
const summaries: Array<ScenarioSummary> = []
for (const scenario of scenarios) {
  if (only !== undefined && !only.has(scenario.id)) continue
  const repetitions = scenario.repetitions?.({ quick }) ?? (quick ? 1 : 3)
  log(`[${scenario.id}] ${scenario.title}: ${repetitions} runs`)
  const scenarioStarted = performance.now()
  const results: Array<RunResult> = []
  const failures: Array<string> = []
  for (let repetition = 0; repetition < repetitions; repetition++) {
    try {
      const result = await scenario.run({ quick, log: (line) => log(`[${scenario.id}] ${line}`) })
      results.push(result)
      // A blocked scenario stays blocked: running it again would only say so again.
      if (result._tag === "Blocked") break
    } catch (error) {
      failures.push(`run ${repetition + 1} failed: ${error instanceof Error ? error.message : String(error)}`)
      log(
        `[${scenario.id}] run ${repetition + 1} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`
      )
    }
  }
  summaries.push(
    summarize(
      scenario,
      scenario.description({ quick }),
      results,
      failures,
      (performance.now() - scenarioStarted) / 1000
    )
  )
}
const seconds = (performance.now() - started) / 1000
const info = { date: new Date().toISOString(), mode: quick ? "quick" : "full", seconds } as const

if (json) {
  print(`${JSON.stringify({ ...info, machine: machine(), scenarios: summaries }, null, 2)}\n`)
} else {
  print(`Linecast benchmarks (${info.mode}, ${machine()})\n${text(summaries)}\n\n`)
  const missed = summaries.flatMap((summary) => summary.figures.filter((figure) => figure.goal?.met === false))
  print(`${missed.length === 0 ? "every goal met" : `${missed.length} goal(s) missed`} in ${seconds.toFixed(0)} s\n`)
}
if (write) {
  const file = fileURLToPath(new URL("../results.md", import.meta.url))
  writeFileSync(file, `${markdown(summaries, info)}\n`)
  log(`results written to ${file}`)
}
