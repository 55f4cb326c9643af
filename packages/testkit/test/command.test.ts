import { type ChildProcess, execFile, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const run = promisify(execFile)

interface Line {
  readonly url: string
  readonly webhookUrl: string
  readonly lineCode: string
  readonly users: ReadonlyArray<number>
}

let child: ChildProcess
let line: Line
const stdout: Array<string> = []

/** curl with a form body, exactly as the acceptance describes it: status and parsed body. */
const curl = async (url: string, form: string) => {
  const { stdout: out } = await run("curl", ["-s", "-X", "POST", "-w", "\n%{http_code}", url, "--data", form])
  const lines = out.trimEnd().split("\n")
  return { status: Number(lines.pop()), body: JSON.parse(lines.join("\n")) }
}

beforeAll(async () => {
  // `pnpm emulator --port 0` as a newcomer runs it; detached so that the whole group can be stopped.
  child = spawn("pnpm", ["emulator", "--port", "0"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout! })
  line = await new Promise<Line>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}`)))
    lines.on("line", (text) => {
      stdout.push(text)
      if (stdout.length === 1) resolve(JSON.parse(text) as Line)
    })
  })
})

afterAll(() => {
  if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
})

describe("pnpm emulator", () => {
  it("prints one JSON line with url, webhookUrl, lineCode and five or more users", () => {
    expect(stdout).toHaveLength(1)
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(line.webhookUrl).toMatch(new RegExp(`^${line.url}/rest/1/[0-9a-f]+/$`))
    expect(line.lineCode).toHaveLength(32)
    expect(line.users.length).toBeGreaterThanOrEqual(5)
  })

  it("answers curl with a form body as the spec says", async () => {
    const url = `${line.webhookUrl}imopenlines.network.message.add.json`
    const valid = `CODE=${line.lineCode}&USER_ID=${line.users[1]}&MESSAGE=${encodeURIComponent("[b]Hello[/b] from curl")}`
    const sent = await curl(url, valid)
    expect(sent.status).toBe(200)
    expect(sent.body.result).toBe(true)
    expect(Object.keys(sent.body.time)).toContain("operating_reset_at")

    expect(await curl(url, valid)).toEqual({
      status: 400,
      body: {
        error: "USER_MESSAGE_LIMIT",
        error_description: "You cant send more than one message per week to each user."
      }
    })

    const user = line.users[2]
    expect((await curl(url, `USER_ID=${user}&MESSAGE=x`)).body.error).toBe("CODE")
    expect((await curl(url, `CODE=${line.lineCode}&MESSAGE=x`)).body.error).toBe("USER_ID_EMPTY")
    expect((await curl(url, `CODE=${line.lineCode}&USER_ID=${user}`)).body.error).toBe("MESSAGE_EMPTY")

    const batch = await curl(`${line.webhookUrl}batch`, "halt=0&cmd[a]=profile&cmd[b]=server.time")
    expect(batch.status).toBe(200)
    expect(Object.keys(batch.body.result.result)).toEqual(["a", "b"])
    expect(batch.body.result.result.a.ID).toBe("1")
    expect(batch.body.result.result.b).toMatch(/^\d{4}-\d{2}-\d{2}T/)

    const oversized = `CODE=${line.lineCode}&USER_ID=${user}&MESSAGE=x&ATTACH[BLOCKS][0][MESSAGE]=${"a".repeat(60_000)}`
    expect(await curl(url, oversized)).toEqual({
      status: 400,
      body: { error: "ATTACH_OVERSIZE", error_description: "You have exceeded the maximum allowable size of attach" }
    })
  })
})
