import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import * as DeliveryDatabase from "../src/DeliveryDatabase.js"
import * as SqlTokenStore from "../src/SqlTokenStore.js"
import type { Database } from "./harness.js"
import { dropDatabases, freshDatabase } from "./harness.js"

afterAll(() => dropDatabases())

const tokens = (name: string) => ({
  accessToken: Redacted.make(`access-${name}`),
  refreshToken: Redacted.make(`refresh-${name}`),
  expiresAt: 1_000_000
})

const accessOf = (found: { readonly accessToken: Redacted.Redacted<string> } | undefined) =>
  found === undefined ? undefined : Redacted.value(found.accessToken)

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`OAuth tokens in delivery's database (${kind})`, () => {
    it.effect("every runner reads the newest pair, and a late write never brings back retired tokens", () =>
      Effect.gen(function* () {
        const database = yield* Effect.promise(() =>
          kind === "sqlite"
            ? Promise.resolve<DeliveryDatabase.DatabaseOptions>({
                kind: "sqlite",
                filename: join(mkdtempSync(join(tmpdir(), "linecast-tokens-")), "tokens.sqlite")
              })
            : freshDatabase("postgres")
        )
        // Two connections to one database, open for the whole test.
        const db = yield* Layer.build(DeliveryDatabase.layer(database))
        const other = yield* Layer.build(DeliveryDatabase.layer(database))
        // Two runners over one database, both configured with the first pair.
        const runnerA = yield* SqlTokenStore.make({ "portal.test": tokens("configured") }).pipe(Effect.provide(db))
        const runnerB = yield* SqlTokenStore.make({ "portal.test": tokens("configured") }).pipe(Effect.provide(other))
        expect(accessOf(yield* runnerB.get("portal.test"))).toBe("access-configured")

        yield* TestClock.adjust("2 seconds")
        yield* runnerA.set("portal.test", tokens("renewed-by-a"))
        expect(accessOf(yield* runnerB.get("portal.test"))).toBe("access-renewed-by-a")

        // B renewed from the same old pair earlier but writes late: A's newer pair stays.
        yield* TestClock.setTime(1_000)
        yield* runnerB.set("portal.test", tokens("stale-from-b"))
        expect(accessOf(yield* runnerA.get("portal.test"))).toBe("access-renewed-by-a")

        // A restarted runner configured with the first pair does not overwrite it either.
        const restarted = yield* SqlTokenStore.make({ "portal.test": tokens("configured") }).pipe(Effect.provide(db))
        expect(accessOf(yield* restarted.get("portal.test"))).toBe("access-renewed-by-a")
        expect(yield* restarted.get("other.test")).toBeUndefined()
      }).pipe(Effect.scoped)
    )
  })
}
