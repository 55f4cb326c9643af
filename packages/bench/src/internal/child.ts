/** Child processes a scenario runs and reads: each prints one JSON line `{"figures":{...}}` last on stdout. */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bundleWorker } from "./bundle.js"

export interface ChildOutcome {
  /** The figures of the last stdout line, or undefined when it was not that JSON. */
  readonly figures: Readonly<Record<string, number>> | undefined
  readonly code: number | null
  readonly stderrTail: string
}

/** The last stdout line as `{"figures":{...}}` with numbers only, or undefined. */
export const parseFigures = (stdout: string): Readonly<Record<string, number>> | undefined => {
  const last = stdout.trim().split("\n").at(-1) ?? ""
  try {
    const parsed = JSON.parse(last) as { readonly figures?: unknown }
    if (typeof parsed.figures !== "object" || parsed.figures === null) return undefined
    const entries = Object.entries(parsed.figures).filter(
      (entry): entry is [string, number] => typeof entry[1] === "number"
    )
    return Object.fromEntries(entries)
  } catch {
    return undefined
  }
}

/** Process groups still running, ended by `stopAll` when the bench itself is stopped. */
const running = new Set<number>()

export const stopAll = () => {
  for (const group of running) {
    try {
      process.kill(-group, "SIGKILL")
    } catch {
      // Already gone.
    }
  }
}

export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string>>
    readonly timeoutMs: number
    readonly cwd?: string
    /** Every stdout line as it comes; `stop` ends the child (its figures are then what it printed so far). */
    readonly onLine?: (line: string, stop: () => void) => void
  }
): Promise<ChildOutcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that a timeout ends what it started too (pnpm, tsx, node).
      detached: true
    })
    if (child.pid !== undefined) running.add(child.pid)
    let stdout = ""
    let stderr = ""
    const stop = () => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    }
    let pending = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      pending += chunk.toString()
      const lines = pending.split("\n")
      pending = lines.pop() ?? ""
      for (const line of lines) options.onLine?.(line, stop)
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000)
    })
    const timer = setTimeout(stop, options.timeoutMs)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      if (child.pid !== undefined) running.delete(child.pid)
      resolve({ figures: parseFigures(stdout), code, stderrTail: stderr.trim().split("\n").slice(-5).join("\n") })
    })
  })

/** The repository's root, where `pnpm --filter` runs. */
export const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url))

/** A bench worker of this package, run by Node with tsx and the source condition. */
export const worker = (
  name: string,
  args: ReadonlyArray<string>,
  options: {
    readonly timeoutMs: number
    readonly nodeFlags?: ReadonlyArray<string>
    readonly onLine?: (line: string, stop: () => void) => void
    /** Run a compiled bundle of the worker instead of its source through tsx (for memory figures). */
    readonly bundled?: boolean
  }
) =>
  (options.bundled === true ? bundleWorker(name).then((file) => [file]) : Promise.resolve(sourceOf(name))).then(
    (entry) =>
      run(process.execPath, [...(options.nodeFlags ?? []), ...entry, ...args], {
        timeoutMs: options.timeoutMs,
        cwd: fileURLToPath(new URL("../../", import.meta.url)),
        ...(options.onLine === undefined ? {} : { onLine: options.onLine })
      })
  )

const sourceOf = (name: string) => [
  "--conditions=@linecast/source",
  "--import",
  "tsx",
  fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url))
]
