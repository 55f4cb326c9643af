/** How hard the suite pushes: bounded inside `pnpm test`, larger with `LINECAST_CHAOS=full`. */
export const full = process.env.LINECAST_CHAOS === "full"

/** The bounded figure by default, the full one under `LINECAST_CHAOS=full`. */
export const scale = (bounded: number, fullRun: number): number => (full ? fullRun : bounded)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls until `check` holds, at most `timeoutMs`; then fails with `what` (a bound, not a timing assertion). */
export const eventually = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await sleep(100)
  }
}
