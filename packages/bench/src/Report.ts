/** The summaries as people read them: a table on stdout and the Markdown of results.md. */
import { cpus, totalmem } from "node:os"
import type { FigureSummary, ScenarioSummary } from "./Summary.js"

export interface RunInfo {
  readonly date: string
  readonly mode: "quick" | "full"
  readonly seconds: number
}

const format = (value: number): string => {
  const magnitude = Math.abs(value)
  if (magnitude >= 100) return value.toFixed(0)
  if (magnitude >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

const withUnit = (value: string, unit: string) =>
  unit === "" ? value : unit === "×" ? `${value}×` : `${value} ${unit}`

const cells = (figure: FigureSummary) => {
  const spread =
    figure.samples.length < 2 ? "" : `${format(figure.min)}–${format(figure.max)} (n=${figure.samples.length})`
  const goal =
    figure.goal === undefined ? "" : `${figure.goal.comparison} ${withUnit(format(figure.goal.target), figure.unit)}`
  const mark = figure.goal === undefined ? "" : figure.goal.met ? "✓" : "✗ missed"
  return [figure.label, withUnit(format(figure.median), figure.unit), spread, goal, mark]
}

export const machine = (): string => {
  const cpu = cpus()
  return `${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}`
}

/** Plain text, aligned, for the terminal. */
export const text = (summaries: ReadonlyArray<ScenarioSummary>): string => {
  const lines: Array<string> = []
  for (const summary of summaries) {
    lines.push("", `${summary.id}. ${summary.title}  (${summary.repetitions} runs, ${summary.seconds.toFixed(0)} s)`)
    const rows = summary.figures.map(cells)
    const widths = [0, 1, 2, 3, 4].map((column) => Math.max(0, ...rows.map((row) => row[column]!.length)))
    for (const row of rows)
      lines.push(
        `  ${row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join("  ")
          .trimEnd()}`
      )
    for (const note of summary.notes) lines.push(`  note: ${note}`)
  }
  return lines.join("\n")
}

const escapeCell = (cell: string) => cell.replaceAll("|", "\\|")

/** results.md: when, where, how, then one table per scenario. */
export const markdown = (summaries: ReadonlyArray<ScenarioSummary>, info: RunInfo): string => {
  const lines = [
    "# Linecast benchmark results",
    "",
    `- Date: ${info.date}`,
    `- Mode: ${info.mode}${info.mode === "quick" ? " (`pnpm bench --quick`: shorter runs, fewer messages)" : " (`pnpm bench`)"}`,
    `- Machine: ${machine()}`,
    `- Duration: ${info.seconds.toFixed(0)} s`,
    "",
    "Every figure is the median of the runs, with the spread (min–max) beside it. Ratios are taken within each run,",
    "against baselines measured in the same run on the same machine, then the median of those ratios is reported.",
    "Everything talks to the testkit's portal and Telegram emulators on 127.0.0.1. Reproduce with `pnpm bench`",
    "(or `pnpm bench --quick`) after the README's set-up; see [packages/bench/README.md](README.md).",
    ""
  ]
  for (const summary of summaries) {
    lines.push(`## ${summary.id}. ${summary.title}`, "", summary.description, "")
    if (summary.figures.length > 0) {
      lines.push("| Figure | Median | Spread | Goal | |", "| --- | ---: | --- | --- | --- |")
      for (const figure of summary.figures) lines.push(`| ${cells(figure).map(escapeCell).join(" | ")} |`)
      lines.push("")
    }
    for (const note of summary.notes) lines.push(`- ${note}`)
    if (summary.notes.length > 0) lines.push("")
  }
  return lines.join("\n")
}
