/**
 * What a scenario is: one file under `scenarios/` exporting a definition. `run` performs one
 * repetition and answers its figures (or why it could not); the runner repeats it and reports the
 * median and spread of every figure, with the goals beside them.
 */

/** A target for a figure, taken from the issue of the package it measures. */
export interface Goal {
  readonly figure: string
  readonly comparison: ">=" | "<"
  readonly target: number
  /** Where the goal comes from, e.g. "core #2". */
  readonly source: string
}

export interface Figure {
  readonly key: string
  readonly label: string
  readonly unit: string
}

export interface RunOptions {
  readonly quick: boolean
  /** Progress for humans (stderr); never part of the figures. */
  readonly log: (line: string) => void
}

export type Figures = Readonly<Record<string, number>>

/** One repetition: figures, or the honest reason there are none. */
export type RunResult =
  | { readonly _tag: "Figures"; readonly figures: Figures; readonly notes?: ReadonlyArray<string> }
  | { readonly _tag: "Blocked"; readonly reason: string }

export interface Scenario {
  readonly id: string
  readonly title: string
  /** What is measured and the ideal, one paragraph (printed in results.md). */
  readonly description: (options: { readonly quick: boolean }) => string
  readonly figures: ReadonlyArray<Figure>
  readonly goals: ReadonlyArray<Goal>
  /** How many repetitions; the runner's default when missing. */
  readonly repetitions?: (options: { readonly quick: boolean }) => number
  readonly run: (options: RunOptions) => Promise<RunResult>
}

export const figures = (values: Figures, notes?: ReadonlyArray<string>): RunResult =>
  notes === undefined ? { _tag: "Figures", figures: values } : { _tag: "Figures", figures: values, notes }

export const blocked = (reason: string): RunResult => ({ _tag: "Blocked", reason })
