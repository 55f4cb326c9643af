/** `pnpm linecast serve --json` as a real process, and what it printed. */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))

export interface Served {
  readonly printed: {
    readonly mode: string
    readonly console?: string
    readonly portal: string
  }
  readonly stop: () => void
}

export const serve = async (env: NodeJS.ProcessEnv): Promise<Served> => {
  const child: ChildProcess = spawn("pnpm", ["linecast", "serve", "--json"], {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      LINECAST_PORT: "0",
      LINECAST_SQLITE_FILE: join(mkdtempSync(join(tmpdir(), "linecast-console-e2e-")), "demo.sqlite"),
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGTERM")
  }
  const output: Array<string> = []
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()))
  try {
    const printed = await new Promise<Served["printed"]>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`linecast serve exited with ${code}: ${output.join("")}`)))
      createInterface({ input: child.stdout! }).on("line", (line) => {
        output.push(line)
        if (line.startsWith("{")) resolve(JSON.parse(line))
      })
    })
    return { printed, stop }
  } catch (error) {
    stop()
    throw error
  }
}
