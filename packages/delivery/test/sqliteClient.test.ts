import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, ManagedRuntime } from "effect"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import { freshDatabase } from "./harness.js"

describe("delivery's SQLite client", () => {
  it("waits for another connection's write lock without holding its thread still", async () => {
    const database = await freshDatabase("sqlite")
    // Two connections to one file in one thread: if the second waited inside the driver, the first could never
    // commit, and the second would fail as "database is locked" after the driver's timeout.
    const first = ManagedRuntime.make(DeliveryDatabase.layer(database))
    const second = ManagedRuntime.make(DeliveryDatabase.layer(database))
    await first.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE IF NOT EXISTS waits (n INTEGER NOT NULL)`)
    )
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const holding = first.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(
          Effect.zipRight(
            sql`INSERT INTO waits (n) VALUES (1)`,
            Effect.promise(() => released)
          )
        )
      )
    )
    // The first transaction now holds the write lock until `release`.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const order: Array<string> = []
    const waiting = second
      .runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO waits (n) VALUES (2)`))
      .then(() => order.push("second wrote"))
    // The thread goes on while the second waits: this timer fires, and lets the first commit.
    setTimeout(() => {
      order.push("timer ran")
      release()
    }, 200)
    await Promise.all([holding, waiting])
    expect(order).toEqual(["timer ran", "second wrote"])
    const rows = await second.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT n FROM waits ORDER BY n`)
    )
    expect(rows.map((row) => row.n)).toEqual([1, 2])
    await first.dispose()
    await second.dispose()
  })

  it("keeps statement journals in memory (a multi-row insert writes no temp file page by page)", async () => {
    const runtime = ManagedRuntime.make(DeliveryDatabase.layer(await freshDatabase("sqlite")))
    const [row] = await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ temp_store: number }>`PRAGMA temp_store`)
    )
    await runtime.dispose()
    // 2: MEMORY.
    expect(row?.temp_store).toBe(2)
  })
})
