/** Live data without reloading: load now, then again every couple of seconds while the view is open. */
import { useEffect, useState } from "preact/hooks"

export interface Polled<A> {
  readonly data: A | undefined
  readonly error: string | undefined
  readonly refresh: () => void
}

export const usePoll = <A>(load: () => Promise<A>, key: string, everyMs = 2000): Polled<A> => {
  const [data, setData] = useState<A | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    const run = () =>
      load().then(
        (value) => {
          if (!live) return
          setData(value)
          setError(undefined)
        },
        (cause: unknown) => {
          if (live) setError(cause instanceof Error ? cause.message : String(cause))
        }
      )
    void run()
    const timer = setInterval(run, everyMs)
    return () => {
      live = false
      clearInterval(timer)
    }
  }, [key, tick])
  return { data, error, refresh: () => setTick((count) => count + 1) }
}
