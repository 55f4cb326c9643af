import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningTelegramEmulator } from "@linecast/testkit"
import { startTelegramEmulator } from "@linecast/testkit"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const operator = 7001

let telegram: RunningTelegramEmulator

beforeAll(async () => {
  telegram = await startTelegramEmulator()
})
afterAll(() => telegram.close())

const until = async <A>(what: string, read: () => Promise<A | undefined> | A | undefined, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe("linecast serve with the Telegram relay", () => {
  it("relays an operator's Telegram message to the demo portal's user, on the service's own delivery", async () => {
    const child = spawn("pnpm", ["linecast", "serve", "--json"], {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        LINECAST_PORT: "0",
        LINECAST_CONSOLE_PORT: "0",
        LINECAST_SQLITE_FILE: join(mkdtempSync(join(tmpdir(), "linecast-serve-telegram-")), "demo.sqlite"),
        LINECAST_TELEGRAM_BOT_TOKEN: telegram.token,
        LINECAST_TELEGRAM_API_ROOT: telegram.apiRoot,
        LINECAST_TELEGRAM_OPERATORS: String(operator),
        LINECAST_TELEGRAM_ROUTING: JSON.stringify({ lineCode: "default", recipients: { boris: 2 } }),
        LINECAST_TELEGRAM_MEDIA_SECRET: "a-media-secret-for-the-test-only",
        LINECAST_TELEGRAM_PORT: "0"
      }
    })
    try {
      const printed = await new Promise<Record<string, string>>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`linecast serve exited with ${code}`)))
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (line.startsWith("{")) resolve(JSON.parse(line))
        })
      })
      expect(printed.telegram).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)
      telegram.control.sendCommand({ user: operator }, "send", "boris [b]not bold[/b] from Telegram")
      const inboxUrl = /'([^']+)'/.exec(printed.inboxCommand!)![1]!
      const inbox = await until("the message in the emulated inbox", async () => {
        const messages = (await (await fetch(inboxUrl)).json()) as ReadonlyArray<{ readonly message: string }>
        return messages.length > 0 ? messages : undefined
      })
      expect(inbox).toHaveLength(1)
      expect(inbox[0]!.message).toContain("from Telegram")
      // Telegram text is escaped: typed BB codes never become formatting.
      expect(inbox[0]!.message).not.toContain("[b]not bold[/b]")
      const answered = await until("the relay's answer", () =>
        telegram.control.sent(operator).length > 0 ? telegram.control.sent(operator) : undefined
      )
      expect(answered[0]!.text).toMatch(/boris/i)
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
    }
  }, 90_000)
})
