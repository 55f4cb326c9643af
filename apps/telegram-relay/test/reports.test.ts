import { describe, expect, it } from "@effect/vitest"
import { DeliveryDatabase, Outbox } from "@linecast/delivery"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Fiber, ManagedRuntime } from "effect"
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

describe("the reports' watcher", () => {
  it("between its sweeps looks at the entries delivery saved: a delivered message is reported without one", async () => {
    const portal = await startPortalEmulator()
    const runtime = ManagedRuntime.make(testDelivery({ portal, nfr: true }))
    const sent: Array<{ readonly report: RelayReports.Report; readonly text: string }> = []
    await runtime.runPromise(RelayReports.migrate)
    // Its only sweep is the one at the start, before there is anything to report.
    const watcher = runtime.runFork(
      RelayReports.watch({
        pollMs: 50,
        pageSize: 100,
        sweepEvery: 1_000_000,
        log: () => undefined,
        send: (report, text) => Effect.sync(() => void sent.push({ report, text }))
      })
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const outcomes = await runtime.runPromise(
      Relay.relay(
        { text: "hello" },
        [{ name: "boris", userId: 2 }],
        { lineCode: portal.lineCode, portal: "default", policy: "defer" },
        (userId) => `reports-test:${userId}`,
        { chatId: 100, messageId: 7 }
      )
    )
    expect(outcomes.map((outcome) => outcome._tag)).toEqual(["Queued"])
    await eventually(() => sent.length > 0, "the report on the delivered message")
    await runtime.runPromise(Fiber.interrupt(watcher))
    await runtime.dispose()
    await portal.close()
    expect(sent.map(({ report, text }) => ({ chatId: report.chatId, messageId: report.messageId, text }))).toEqual([
      { chatId: 100, messageId: 7, text: "Delivered to boris." }
    ])
  })

  it("tries a report Telegram refused for now again at its next look, without a sweep", async () => {
    const portal = await startPortalEmulator()
    const runtime = ManagedRuntime.make(testDelivery({ portal, nfr: true }))
    await runtime.runPromise(RelayReports.migrate)
    let tries = 0
    const sent: Array<string> = []
    const watcher = runtime.runFork(
      RelayReports.watch({
        pollMs: 50,
        pageSize: 100,
        sweepEvery: 1_000_000,
        log: () => undefined,
        send: (_report, text) =>
          tries++ === 0
            ? Effect.fail({ permanent: false, message: "Too Many Requests" })
            : Effect.sync(() => void sent.push(text))
      })
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    await runtime.runPromise(
      Relay.relay(
        { text: "hello again" },
        [{ name: "carla", userId: 3 }],
        { lineCode: portal.lineCode, portal: "default", policy: "defer" },
        (userId) => `reports-again-test:${userId}`,
        { chatId: 300, messageId: 11 }
      )
    )
    await eventually(() => sent.length > 0, "the report, sent on a second try")
    await new Promise((resolve) => setTimeout(resolve, 300))
    await runtime.runPromise(Fiber.interrupt(watcher))
    await runtime.dispose()
    await portal.close()
    expect(tries).toBe(2)
    expect(sent).toEqual(["Delivered to carla."])
  })

  it("sends what a chat has ready at one look in one message, however many pages it was read in", async () => {
    const portal = await startPortalEmulator()
    const runtime = ManagedRuntime.make(testDelivery({ portal, nfr: true }))
    await runtime.runPromise(RelayReports.migrate)
    const recipients = [2, 3, 4, 5, 6].map((userId) => ({ name: `user ${userId}`, userId }))
    await runtime.runPromise(
      Relay.relay(
        { text: "to five" },
        recipients,
        { lineCode: portal.lineCode, portal: "default", policy: "defer" },
        (userId) => `reports-pages-test:${userId}`,
        { chatId: 200, messageId: 9 }
      )
    )
    await eventually(
      async () =>
        (await runtime.runPromise(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({ state: "sent" })))) === 5,
      "the five messages to be sent"
    )
    // All five are ready at the watcher's first look (its sweep), read two rows a page.
    const sent: Array<string> = []
    const watcher = runtime.runFork(
      RelayReports.watch({
        pollMs: 50,
        pageSize: 2,
        sweepEvery: 1_000_000,
        log: () => undefined,
        send: (_report, text) => Effect.sync(() => void sent.push(text))
      })
    )
    await eventually(() => sent.length > 0, "the reports")
    await new Promise((resolve) => setTimeout(resolve, 300))
    await runtime.runPromise(Fiber.interrupt(watcher))
    await runtime.dispose()
    await portal.close()
    expect(sent).toEqual([
      ["5 reports:", ...recipients.map((recipient) => `• Delivered to ${recipient.name}.`)].join("\n")
    ])
  })
})
