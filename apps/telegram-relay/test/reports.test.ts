import { describe, expect, it } from "@effect/vitest"
import { DeliveryDatabase } from "@linecast/delivery"
import { Effect, ManagedRuntime } from "effect"
import * as RelayReports from "../src/RelayReports.js"
import { freshSqliteFile } from "./harness.js"

describe("the reports still owed", () => {
  it("are read all together, or only those told waiting (the watcher's polls between full ones)", async () => {
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
        const waiting = yield* RelayReports.pending("", 10, "waiting")
        const afterA = yield* RelayReports.pending("a", 10, "waiting")
        return { all, waiting, afterA }
      })
    )
    await runtime.dispose()
    expect(read.all.map((report) => report.entryId)).toEqual(["a", "b", "c"])
    expect(read.waiting.map((report) => report.entryId)).toEqual(["a", "c"])
    expect(read.afterA.map((report) => report.entryId)).toEqual(["c"])
  })
})
