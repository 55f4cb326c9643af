/** The repetitions of a scenario reduced to what is reported: median and spread per figure, goals checked. */
import type { Goal, RunResult, Scenario } from "./Scenario.js"

export interface FigureSummary {
  readonly key: string
  readonly label: string
  readonly unit: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly samples: ReadonlyArray<number>
  readonly goal?: Goal & { readonly met: boolean }
}

export interface ScenarioSummary {
  readonly id: string
  readonly title: string
  readonly description: string
  readonly repetitions: number
  readonly seconds: number
  readonly figures: ReadonlyArray<FigureSummary>
  /** Why there are no (or not all) figures: blocked, failed, notes of the runs. */
  readonly notes: ReadonlyArray<string>
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((left, right) => left - right)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const meets = (goal: Goal, value: number) => (goal.comparison === ">=" ? value >= goal.target : value < goal.target)

export const summarize = (
  scenario: Scenario,
  description: string,
  results: ReadonlyArray<RunResult>,
  failures: ReadonlyArray<string>,
  seconds: number
): ScenarioSummary => {
  const notes = new Set<string>(failures)
  for (const result of results) {
    if (result._tag === "Blocked") notes.add(`blocked: ${result.reason}`)
    else for (const note of result.notes ?? []) notes.add(note)
  }
  const figures: Array<FigureSummary> = []
  for (const figure of scenario.figures) {
    const samples = results.flatMap((result) => {
      const value = result._tag === "Figures" ? result.figures[figure.key] : undefined
      return value === undefined || !Number.isFinite(value) ? [] : [value]
    })
    if (samples.length === 0) continue
    const middle = median(samples)
    const goal = scenario.goals.find((candidate) => candidate.figure === figure.key)
    figures.push({
      ...figure,
      median: middle,
      min: Math.min(...samples),
      max: Math.max(...samples),
      samples,
      ...(goal === undefined ? {} : { goal: { ...goal, met: meets(goal, middle) } })
    })
  }
  return {
    id: scenario.id,
    title: scenario.title,
    description,
    repetitions: results.length,
    seconds,
    figures,
    notes: [...notes]
  }
}
