/**
 * `linecast serve` as a real process: node with tsx on the CLI's sources (no pnpm in between, so that
 * the pid is the server's own: SIGKILL hits it, and its RSS is its own).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

export const root = fileURLToPath(new URL("../../../../", import.meta.url))
const cli = `${root}apps/node-plugin/src/bin/linecast.ts`

export interface RunningServe {
  readonly pid: number
  readonly url: string
  readonly eventsUrl: string
  /** Everything it printed so far, stdout and stderr. */
  readonly output: () => { readonly stdout: string; readonly stderr: string }
  readonly exited: () => boolean
  /** Resident memory in bytes, from /proc. */
  readonly rss: () => number
  readonly kill: (signal: NodeJS.Signals) => Promise<void>
}

/** Every output of every serve a test started, for the secrets scan. */
export const outputs: Array<{ readonly where: string; readonly text: string }> = []

const running = new Set<RunningServe>()

/** SIGKILLs every serve still running (a test's `afterAll`, so that a failed test leaves no process behind). */
export const killAll = async (): Promise<void> => {
  for (const serve of [...running]) await serve.kill("SIGKILL")
}

export const startServe = (env: Record<string, string>, startTimeoutMs = 60_000): Promise<RunningServe> => {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@linecast/source", cli, "serve", "--json"],
    {
      cwd: root,
      detached: true,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let stdout = ""
  let stderr = ""
  let exited = false
  const record = { where: `serve ${child.pid}`, text: "" }
  outputs.push(record)
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  void exit.then(() => {
    exited = true
  })
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
    Object.assign(record, { text: stdout + stderr })
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
    Object.assign(record, { text: stdout + stderr })
  })
  const kill = async (signal: NodeJS.Signals) => {
    if (!exited) {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
      await exit
    }
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill("SIGKILL")
      reject(new Error(`serve did not start in ${startTimeoutMs} ms: ${stderr.slice(-2000)}`))
    }, startTimeoutMs)
    void exit.then(() => {
      clearTimeout(timer)
      reject(new Error(`serve exited before it started: ${stdout}${stderr.slice(-2000)}`))
    })
    child.stdout!.on("data", () => {
      const line = stdout.split("\n").find((candidate) => candidate.startsWith("{"))
      if (line === undefined || !stdout.includes("\n")) return
      clearTimeout(timer)
      const started = JSON.parse(line) as { listener: string; eventsUrl: string }
      const serve: RunningServe = {
        pid: child.pid!,
        url: started.listener,
        eventsUrl: started.eventsUrl,
        output: () => ({ stdout, stderr }),
        exited: () => exited,
        rss: () => rssOf(child.pid!),
        kill
      }
      running.add(serve)
      void exit.then(() => running.delete(serve))
      resolve(serve)
    })
  })
}

const rssOf = (pid: number): number => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
    return kib === undefined ? 0 : Number(kib) * 1024
  } catch {
    return 0
  }
}

const exec = promisify(execFile)

/** `linecast <args> --json` once, for reading the outbox after a run. */
export const linecastJson = async (args: ReadonlyArray<string>, env: Record<string, string>): Promise<unknown> => {
  const { stdout, stderr } = await exec(
    process.execPath,
    ["--import", "tsx", "--conditions=@linecast/source", cli, ...args, "--json"],
    { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env } }
  )
  outputs.push({ where: `linecast ${args.join(" ")}`, text: stdout + stderr })
  return JSON.parse(stdout)
}
