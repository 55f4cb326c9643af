/**
 * A progress bar on standard error for the commands that work through many items (`outbox replay`,
 * `send --file` with several messages): shown on a terminal, or when asked for with `--progress`;
 * never with `--json`, whose output is for scripts.
 *
 * @since 0.1.0
 */
import { Options } from "@effect/cli"
import { SingleBar } from "cli-progress"
import * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category options
 */
export const progressFlag = Options.boolean("progress").pipe(
  Options.withDescription("Show a progress bar on standard error even when it is not a terminal")
)

/**
 * Runs `each` over `items` one after another, advancing a bar when one is wanted.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachWithProgress = <A, B, E, R>(
  items: ReadonlyArray<A>,
  options: { readonly label: string; readonly json: boolean; readonly forced: boolean },
  each: (item: A) => Effect.Effect<B, E, R>
): Effect.Effect<Array<B>, E, R> => {
  const shown = !options.json && (options.forced || process.stderr.isTTY === true) && items.length > 1
  if (!shown) return Effect.forEach(items, each)
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      const bar = new SingleBar({
        format: `${options.label} [{bar}] {value}/{total}`,
        stream: process.stderr,
        // Off a terminal the bar is written line by line, so that logs and tests can read it.
        noTTYOutput: true,
        notTTYSchedule: 250,
        hideCursor: process.stderr.isTTY === true
      })
      bar.start(items.length, 0)
      return bar
    }),
    (bar) => Effect.forEach(items, (item) => Effect.tap(each(item), () => Effect.sync(() => bar.increment()))),
    (bar) => Effect.sync(() => bar.stop())
  )
}
