import type { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { DeliveryDatabase, Outbox } from "@linecast/delivery"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Fiber, ManagedRuntime } from "effect"
import type { Outcome } from "../src/Outcome.js"
import * as Relay from "../src/Relay.js"
import * as RelayReports from "../src/RelayReports.js"
import { eventually, freshSqliteFile, testDelivery } from "./harness.js"

describe("the reports still owed", () => {
  it("are read in pages by entry id, or for the entries given (the watcher's sweeps, and its looks at what changed)", async () => {
    const runtime = ManagedRuntime.make(DeliveryDatabase.layer({ kind: "sqlite", filename: freshSqliteFile() }))
    const read = await runtime.runPromise(
      Effect.gen(function* () {
        yield* RelayReports.migrate
        yield* RelayReports.registerAll([
          { entryId: "a", chatId: 1, messageId: 10, to: "boris", told: "waiting" },
          { entryId: "b", chatId: 1, messageId: 11, to: "boris", told: "deferred" },
          { entryId: "c", chatId: 2, messageId: 12, to: "anna", told: "waiting" }
        ])
        const all = yield* RelayReports.pending("", 10)
        const firstTwo = yield* RelayReports.pending("", 2)
        const afterA = yield* RelayReports.pending("a", 10)
        const on = yield* RelayReports.pendingOn(["c", "a", "not the relay's"])
        return { all, firstTwo, afterA, on }
      })
    )
    await runtime.dispose()
    expect(read.all.map((report) => report.entryId)).toEqual(["a", "b", "c"])
    expect(read.firstTwo.map((report) => report.entryId)).toEqual(["a", "b"])
    expect(read.afterA.map((report) => report.entryId)).toEqual(["b", "c"])
    expect(read.on.map((report) => report.entryId)).toEqual(["a", "c"])
  })
})

/** Delivery on SQLite and a portal emulator (NFR: everything is sent), for the watcher's tests. */
const withDelivery = async (
  use: (setup: {
    readonly runtime: ManagedRuntime.ManagedRuntime<Outbox.Outbox | SqlClient.SqlClient, unknown>
    /** Relays one message from chat `chatId` (its message `messageId`) to `recipients`. */
    readonly relay: (
      recipients: ReadonlyArray<Relay.Recipient>,
      origin: { readonly chatId: number; readonly messageId: number }
    ) => Promise<ReadonlyArray<Outcome>>
    /** Starts the watcher: its only sweep is at its start, unless `sweepEvery` says otherwise. */
    readonly watch: (send: RelayReports.WatchOptions["send"], pageSize?: number) => void
  }) => Promise<void>
) => {
  const portal = await startPortalEmulator()
  const runtime = ManagedRuntime.make(testDelivery({ portal, nfr: true }))
  await runtime.runPromise(RelayReports.migrate)
  const watchers: Array<Fiber.RuntimeFiber<never, unknown>> = []
  try {
    await use({
      runtime,
      relay: (recipients, origin) =>
        runtime.runPromise(
          Relay.relay(
            { text: "hello" },
            recipients,
            { lineCode: portal.lineCode, portal: "default", policy: "defer" },
            (userId) => `reports-test:${origin.chatId}:${origin.messageId}:${userId}`,
            origin
          )
        ),
      watch: (send, pageSize = 100) =>
        void watchers.push(
          runtime.runFork(
            RelayReports.watch({ pollMs: 50, pageSize, sweepEvery: 1_000_000, log: () => undefined, send })
          )
        )
    })
  } finally {
    for (const watcher of watchers) await runtime.runPromise(Fiber.interrupt(watcher))
    await runtime.dispose()
    await portal.close()
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("the reports' watcher", () => {
  it("between its sweeps looks at the entries delivery saved: a delivered message is reported without one", () =>
    withDelivery(async ({ relay, watch }) => {
      const sent: Array<{ readonly report: RelayReports.Report; readonly text: string }> = []
      watch((report, text) => Effect.sync(() => void sent.push({ report, text })))
      // After its sweep at the start, when there was nothing to report.
      await pause(300)
      const outcomes = await relay([{ name: "boris", userId: 2 }], { chatId: 100, messageId: 7 })
      expect(outcomes.map((outcome) => outcome._tag)).toEqual(["Queued"])
      await eventually(() => sent.length > 0, "the report on the delivered message")
      expect(sent.map(({ report, text }) => ({ chatId: report.chatId, messageId: report.messageId, text }))).toEqual([
        { chatId: 100, messageId: 7, text: "Delivered to boris." }
      ])
    }))

  it("tries a report Telegram refused for now again at its next look, without a sweep", () =>
    withDelivery(async ({ relay, watch }) => {
      let tries = 0
      const sent: Array<string> = []
      watch((_report, text) =>
        tries++ === 0
          ? Effect.fail({ permanent: false, message: "Too Many Requests" })
          : Effect.sync(() => void sent.push(text))
      )
      await pause(300)
      await relay([{ name: "carla", userId: 3 }], { chatId: 300, messageId: 11 })
      await eventually(() => sent.length > 0, "the report, sent on a second try")
      await pause(300)
      expect(tries).toBe(2)
      expect(sent).toEqual(["Delivered to carla."])
    }))

  it("sends what a chat has ready at one look in one message, however many pages it was read in", () =>
    withDelivery(async ({ runtime, relay, watch }) => {
      const recipients = [2, 3, 4, 5, 6].map((userId) => ({ name: `user ${userId}`, userId }))
      await relay(recipients, { chatId: 200, messageId: 9 })
      await eventually(
        async () =>
          (await runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({ state: "sent" })))) === 5,
        "the five messages to be sent"
      )
      // All five are ready at the watcher's first look (its sweep), read two rows a page.
      const sent: Array<string> = []
      watch((_report, text) => Effect.sync(() => void sent.push(text)), 2)
      await eventually(() => sent.length > 0, "the reports")
      await pause(300)
      expect(sent).toEqual([
        ["5 reports:", ...recipients.map((recipient) => `• Delivered to ${recipient.name}.`)].join("\n")
      ])
    }))
})
