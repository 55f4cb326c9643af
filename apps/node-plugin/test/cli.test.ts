import { execFile, spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
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
    LINECAST_SQLITE_FILE: join(mkdtempSync(join(tmpdir(), "linecast-cli-")), "linecast.sqlite")
  }
})
afterAll(() => emulator.close())

/** `pnpm linecast …` as a user runs it: exit code, stdout, stderr. */
const linecast = async (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = environment) => {
  try {
    const { stdout, stderr } = await exec("pnpm", ["linecast", ...args], { cwd: root, env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

const webhookCode = () => new URL(emulator.webhookUrl).pathname.split("/")[3]!

describe("the linecast CLI", () => {
  it("sends a message and prints JSON; a second one this week exits with the quota code", async () => {
    const sent = await linecast(["send", "--user", "2", "--message", "[b]From the CLI[/b]", "--json"])
    expect(sent.code).toBe(0)
    expect(JSON.parse(sent.stdout)).toMatchObject({ sent: true, attempts: 1 })
    expect(emulator.control.inbox("demo", 2).map((message) => message.message)).toEqual(["[b]From the CLI[/b]"])
    const again = await linecast(["send", "--user", "2", "--message", "again", "--json"])
    expect(again.code).toBe(3)
    expect(again.stderr.trim().split("\n")).toHaveLength(1)
    expect(again.stderr).toContain("USER_MESSAGE_LIMIT")
  })

  it("validates without sending on --dry-run, and exits 2 on invalid input without a stack trace", async () => {
    const valid = await linecast(["send", "--user", "3", "--message", "fine", "--dry-run", "--json"])
    expect(valid).toMatchObject({ code: 0 })
    expect(JSON.parse(valid.stdout)).toEqual({ valid: true })
    const invalid = await linecast(["send", "--user", "3", "--message", "   ", "--dry-run"])
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toMatch(/^linecast: .*MESSAGE_EMPTY/)
    expect(invalid.stderr).not.toContain("    at ")
    expect(emulator.control.inbox("demo", 3)).toEqual([])
    const badFlag = await linecast(["send", "--user", "not-a-number"])
    expect(badFlag.code).toBe(2)
  })

  it("enqueues with --queue, and lists the outbox as JSON", async () => {
    const queued = await linecast(["send", "--user", "4", "--message", "queued", "--queue", "cli-1", "--json"])
    expect(queued.code).toBe(0)
    expect(JSON.parse(queued.stdout)).toMatchObject({ queued: true, created: true })
    const listed = await linecast(["outbox", "list", "--json"])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout).map((entry: { idempotencyKey: string }) => entry.idempotencyKey)).toContain(
      "cli-1"
    )
    const quota = await linecast(["quota", "5", "--json"])
    expect(JSON.parse(quota.stdout)).toEqual({ userId: 5, nextAllowedAt: null })
  })

  it("sends an array of messages from a file with a progress bar, and refuses the whole file when one is bad", async () => {
    const folder = mkdtempSync(join(tmpdir(), "linecast-cli-file-"))
    const good = join(folder, "good.json")
    writeFileSync(good, JSON.stringify([4, 5, 6].map((userId) => ({ userId, message: `bulk ${userId}` }))))
    const queued = await linecast(["send", "--file", good, "--queue", "bulk", "--progress"])
    expect(queued.code).toBe(0)
    expect(queued.stderr).toMatch(/queueing \[.*\] 3\/3/)
    expect(queued.stdout.trim().split("\n")).toHaveLength(3)
    const listed = await linecast(["outbox", "list", "--json", "--limit", "500"])
    const keys = JSON.parse(listed.stdout).map((entry: { idempotencyKey: string }) => entry.idempotencyKey)
    expect(keys).toEqual(expect.arrayContaining(["bulk/0", "bulk/1", "bulk/2"]))
    const bad = join(folder, "bad.json")
    writeFileSync(
      bad,
      JSON.stringify([
        { userId: 4, message: "fine" },
        { userId: 5, message: "  " }
      ])
    )
    const refused = await linecast(["send", "--file", bad, "--queue", "bad"])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/MESSAGE_EMPTY/)
    const after = await linecast(["outbox", "list", "--json", "--limit", "500"])
    expect(JSON.parse(after.stdout).map((entry: { idempotencyKey: string }) => entry.idempotencyKey)).not.toContain(
      "bad/0"
    )
  }, 90_000)

  it("never prints the webhook code, even when it fails", async () => {
    const outputs = [
      await linecast(["send", "--user", "2", "--message", "x"]),
      await linecast(["send", "--user", "6", "--message", "x", "--line", "short"]),
      await linecast(["send", "--user", "6", "--message", "x", "--verbose"], {
        ...environment,
        LINECAST_WEBHOOK_URL: emulator.webhookUrl.replace("127.0.0.1", "portal.example")
      })
    ]
    for (const output of outputs) {
      expect(`${output.stdout}${output.stderr}`).not.toContain(webhookCode())
    }
    expect(outputs[2]!.code).toBe(2)
  })
})

describe("binding and checking with an application's credentials", () => {
  it("binds, checks with doctor, and unbinds", async () => {
    const app = emulator.control.createApp({ scopes: ["crm", "imopenlines"] })
    const installation = emulator.control.installApp("demo", app.clientId, 1)
    const oauth = {
      ...environment,
      LINECAST_WEBHOOK_URL: "",
      LINECAST_PORTAL_URL: installation.clientEndpoint,
      LINECAST_CLIENT_ID: app.clientId,
      LINECAST_CLIENT_SECRET: app.clientSecret,
      LINECAST_ACCESS_TOKEN: installation.accessToken,
      LINECAST_REFRESH_TOKEN: installation.refreshToken,
      LINECAST_TOKEN_URL: emulator.control.oauthTokenUrl
    }
    delete (oauth as Record<string, unknown>).LINECAST_WEBHOOK_URL
    const handler = "http://127.0.0.1:9/bitrix/events"
    const bound = await linecast(
      ["bind", "--handler", handler, "--events", "ONCRMDEALADD,ONCRMLEADADD", "--json"],
      oauth
    )
    expect(bound.code).toBe(0)
    expect(JSON.parse(bound.stdout)).toEqual({ bound: ["ONCRMDEALADD", "ONCRMLEADADD"] })
    const healthy = await linecast(
      ["doctor", "--handler", handler, "--events", "ONCRMDEALADD,ONCRMLEADADD", "--json"],
      oauth
    )
    expect(healthy.code).toBe(0)
    expect(JSON.parse(healthy.stdout)).toMatchObject({
      portalReachable: true,
      database: true,
      lineJoined: true,
      missingEvents: []
    })
    expect((await linecast(["unbind", "--handler", handler, "--events", "ONCRMLEADADD"], oauth)).code).toBe(0)
    const missing = await linecast(
      ["doctor", "--handler", handler, "--events", "ONCRMDEALADD,ONCRMLEADADD", "--json"],
      oauth
    )
    expect(missing.code).toBe(1)
    expect(JSON.parse(missing.stdout).missingEvents).toEqual(["ONCRMLEADADD"])
    for (const output of [bound, healthy, missing]) {
      expect(`${output.stdout}${output.stderr}`).not.toContain(installation.accessToken)
      expect(`${output.stdout}${output.stderr}`).not.toContain(app.clientSecret)
    }
  })
})

describe("the main job", () => {
  it("`pnpm start` runs on the embedded defaults, and its printed demo command makes a message appear", async () => {
    const child = spawn("pnpm", ["start"], {
      cwd: root,
      detached: true,
      env: {
        ...process.env,
        LINECAST_PORT: "0",
        LINECAST_SQLITE_FILE: join(mkdtempSync(join(tmpdir(), "linecast-start-")), "demo.sqlite")
      },
      stdio: ["ignore", "pipe", "inherit"]
    })
    try {
      const lines: Array<string> = []
      await new Promise<void>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`pnpm start exited with ${code}: ${lines.join("\n")}`)))
        createInterface({ input: child.stdout! }).on("line", (line) => {
          lines.push(line)
          if (line.startsWith("Ctrl-C")) resolve()
        })
      })
      const demo = lines.find((line) => line.trim().startsWith("curl -s -X POST"))!.trim()
      const inbox = lines.find((line) => line.includes("/inbox?userId="))!.trim()
      await exec("sh", ["-c", demo])
      let received: Array<{ message: string }> = []
      for (let tries = 0; tries < 300 && received.length === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        received = JSON.parse((await exec("sh", ["-c", inbox])).stdout)
      }
      expect(received.map((message) => message.message)).toEqual(["New deal [b]First order[/b] (1200 USD) is yours."])
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
    }
  })
})
