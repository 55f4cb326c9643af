#!/usr/bin/env node
/**
 * `pnpm emulator [--port N] [--host 127.0.0.1] [--https]`: starts the portal emulator, prints one
 * JSON line on stdout (url, webhookUrl, lineCode, users, controlUrl, and caCert with --https) and
 * serves until Ctrl-C.
 */
import { parseArgs } from "node:util"
import { summary } from "../PortalEmulator.js"
import { startPortalEmulator } from "../startPortalEmulator.js"

const usage = "usage: emulator [--port N] [--host ADDRESS] [--https]"

const main = async () => {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      https: { type: "boolean" },
      help: { type: "boolean" }
    },
    strict: true
  })
  if (values.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port must be a port number, got "${values.port}"`)
  const emulator = await startPortalEmulator({ port, host: values.host ?? "127.0.0.1", https: values.https ?? false })
  process.stdout.write(`${JSON.stringify(summary(emulator))}\n`)
  process.stderr.write(`Bitrix24 portal emulator listening on ${emulator.url} (Ctrl-C to stop)\n`)
  const stop = () => {
    void emulator.close().then(() => process.exit(0))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`)
  process.exit(2)
})
