/**
 * An app's own benchmark, run as a child process (`pnpm --filter <app> bench -- --json [--quick]`):
 * the apps own their benches, this package repeats them and reports the figures.
 */
import type { RunResult } from "../Scenario.js"
import { blocked, figures } from "../Scenario.js"
import { repositoryRoot, run } from "./child.js"

export const runAppBench = async (
  app: string,
  options: { readonly quick: boolean; readonly env: Readonly<Record<string, string>>; readonly timeoutMs: number }
): Promise<RunResult> => {
  const outcome = await run(
    "pnpm",
    ["--silent", "--filter", app, "bench", "--", "--json", ...(options.quick ? ["--quick"] : [])],
    { cwd: repositoryRoot, env: options.env, timeoutMs: options.timeoutMs }
  )
  if (outcome.figures !== undefined) return figures(outcome.figures)
  if (outcome.code !== 0) {
    throw new Error(`${app} bench exited with ${outcome.code}: ${outcome.stderrTail.split("\n").at(-1) ?? ""}`)
  }
  return blocked(`no figures (${app} bench did not print JSON)`)
}
