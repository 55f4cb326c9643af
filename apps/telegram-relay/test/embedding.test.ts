/** The relay embedded in another application's runtime: `relayLayer` on the delivery that application runs. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Outbox } from "@linecast/delivery"
import type { RunningPortalEmulator, RunningTelegramEmulator } from "@linecast/testkit"
import { startPortalEmulator, startTelegramEmulator } from "@linecast/testkit"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { RelayStartError, relayLayer, runRelay } from "../src/index.js"
import { freshSqliteFile, operator, replyMatching, testDelivery, testOptions } from "./harness.js"

let telegram: RunningTelegramEmulator
let portal: RunningPortalEmulator

beforeAll(async () => {
  telegram = await startTelegramEmulator()
  portal = await startPortalEmulator()
  portal.control.configure("demo", { weeklyWindowSeconds: 2 })
})
afterAll(async () => {
  await telegram.close()
  await portal.close()
})

describe("the relay embedded in an application's runtime", () => {
  it("runs on the application's own delivery while the layer lives, and stops with it", async () => {
    const database = freshSqliteFile()
    const setup = { telegram, portal, database }
    // One runtime, one delivery (one SingleRunner on the file): the application's, with the relay inside.
    const runtime = ManagedRuntime.make(relayLayer(testOptions(setup)).pipe(Layer.provideMerge(testDelivery(setup))))
    try {
      await runtime.runtime()
      telegram.control.sendCommand({ user: operator }, "send", "boris from inside")
      expect(await replyMatching(telegram, operator, /Queued|Not sent/)).toMatch(/^Queued for boris/)
      expect(await replyMatching(telegram, operator, /^Delivered|^Not delivered/)).toBe("Delivered to boris.")
      const entries = await runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.list()))
      expect(entries.map((entry) => entry.message.message)).toEqual(["from inside"])
      // The relay's tables are in the application's database.
      const tables = await runtime.runPromise(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql<{
              name: string
            }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'linecast_telegram_%'`
        )
      )
      expect(tables.map((table) => table.name).sort()).toEqual([
        "linecast_telegram_album_parts",
        "linecast_telegram_reports"
      ])
    } finally {
      await runtime.dispose()
    }
    // Stopped with the layer: nothing polls any more, so a new update stays pending.
    const update = telegram.control.sendCommand({ user: operator }, "send", "boris after the stop")
    expect(telegram.control.pendingUpdates().map((pending) => pending.update_id)).toContain(update.update_id)
  })

  it("fails to start with a typed error when its address is taken", async () => {
    const setup = { telegram, portal, database: freshSqliteFile() }
    const runtime = ManagedRuntime.make(testDelivery(setup))
    try {
      const exit = await runtime.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const first = yield* runRelay(testOptions(setup))
            const port = Number(new URL(first.url).port)
            return yield* Effect.exit(
              Effect.scoped(runRelay(testOptions({ ...setup, options: { listen: { host: "127.0.0.1", port } } })))
            )
          })
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = Cause.failureOption(exit.cause)
        expect(Option.getOrUndefined(error)).toBeInstanceOf(RelayStartError)
        expect(Option.getOrUndefined(error)?.message).toMatch(/could not listen/)
        expect(Option.getOrUndefined(error)?.message).not.toContain(telegram.token.split(":")[1])
      }
    } finally {
      await runtime.dispose()
    }
  })
})
