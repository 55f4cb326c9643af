import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"

const run = promisify(execFile)
let emulator: RunningPortalEmulator

beforeAll(async () => {
  emulator = await startPortalEmulator({ https: true })
})
afterAll(() => emulator.close())

/** A fresh Node process that trusts the emulator only through NODE_EXTRA_CA_CERTS. */
const node = (args: ReadonlyArray<string>) =>
  run(process.execPath, [...args], {
    cwd: fileURLToPath(new URL(".", import.meta.url)),
    env: { ...process.env, NODE_EXTRA_CA_CERTS: emulator.caCert! }
  })

describe("--https", () => {
  it("serves HTTPS with a certificate that NODE_EXTRA_CA_CERTS makes trusted", async () => {
    expect(emulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(emulator.caCert).toMatch(/ca\.pem$/)
    const script = `const r = await fetch(${JSON.stringify(`${emulator.webhookUrl}profile`)}); console.log(r.status)`
    const { stdout } = await node(["--input-type=module", "-e", script])
    expect(stdout.trim()).toBe("200")
  })

  it("is refused without the certificate, as an untrusted server should be", async () => {
    const script = `try { await fetch(${JSON.stringify(`${emulator.webhookUrl}profile`)}); console.log("trusted") } catch { console.log("refused") }`
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: "" }
    })
    expect(stdout.trim()).toBe("refused")
  })

  it("Bitrix24's JS SDK sends a message and a batch through it unchanged", async () => {
    const { stdout } = await node(["fixtures/b24jssdkClient.mjs", emulator.webhookUrl, emulator.lineCode])
    const answer = JSON.parse(stdout.trim().split("\n").at(-1)!)
    expect(answer).toEqual({ single: true, batchOk: true, me: "1", send: true })
    const [toTwo] = emulator.control.inbox("demo", 2)
    expect(toTwo).toMatchObject({ message: "[b]From the JS SDK[/b]", attach: { BLOCKS: [{ MESSAGE: "attached" }] } })
    expect(toTwo?.keyboard).toEqual([expect.objectContaining({ TEXT: "Open", LINK: "https://example.test/deal/1" })])
    expect(emulator.control.inbox("demo", 3)[0]?.message).toBe("batched")
  })
})
