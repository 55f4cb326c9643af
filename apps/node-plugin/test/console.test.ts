import { execFile, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const exec = promisify(execFile)

let emulator: RunningPortalEmulator
let environment: NodeJS.ProcessEnv

beforeAll(async () => {
  emulator = await startPortalEmulator()
  environment = {
    ...process.env,
    LINECAST_WEBHOOK_URL: emulator.webhookUrl,
    LINECAST_LINE_CODE: emulator.lineCode,
    LINECAST_PORT: "0",
    LINECAST_SQLITE_FILE: join(mkdtempSync(join(tmpdir(), "linecast-console-mount-")), "linecast.sqlite")
  }
})
afterAll(() => emulator.close())

/** Starts `linecast serve --json`, hands its printed line to `use`, and stops it. */
const withServe = async <A>(env: NodeJS.ProcessEnv, use: (printed: Record<string, unknown>) => Promise<A>) => {
  const child = spawn("pnpm", ["linecast", "serve", "--json"], {
    cwd: root,
    detached: true,
    env,
    stdio: ["ignore", "pipe", "inherit"]
  })
  try {
    const printed = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`linecast serve exited with ${code}`)))
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("{")) resolve(JSON.parse(line))
      })
    })
    return await use(printed)
  } finally {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
  }
}

describe("the console mount of linecast serve", () => {
  it("refuses to serve the console outside demo mode without its credential", async () => {
    const failed = await exec("pnpm", ["linecast", "serve", "--console"], { cwd: root, env: environment }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error
    )
    expect(failed.code).toBe(2)
    expect(failed.stderr).toContain("LINECAST_CONSOLE_TOKEN")
    expect(failed.stderr).not.toContain(new URL(emulator.webhookUrl).pathname.split("/")[3]!)
  })

  it("is off unless enabled outside demo mode; enabled, it wants the credential", async () => {
    expect(await withServe(environment, async (printed) => printed)).not.toHaveProperty("console")
    const token = "mount-test-token"
    await withServe({ ...environment, LINECAST_CONSOLE: "1", LINECAST_CONSOLE_TOKEN: token }, async (printed) => {
      const url = String(printed.console)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/$/)
      expect((await fetch(`${url}api/session`)).status).toBe(401)
      const session = await fetch(`${url}api/session`, { headers: { authorization: `Bearer ${token}` } })
      expect(session.status).toBe(200)
      expect(await session.json()).toMatchObject({ mode: "portal", protected: true, demo: false })
    })
  })
})
