import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer, Ref, TestClock } from "effect"
import { OpenChannel, RateBudget, TokenStore } from "../src/index.js"

describe("RateBudget", () => {
  it.effect("lets a full bucket through at once, then one request per drain interval", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget.make({ limit: 50, drainPerSecond: 2, headroom: 0 })
      const done = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Effect.forEach(
          Array.from({ length: 60 }),
          () =>
            Effect.zipRight(
              budget.take("portal", "m"),
              Ref.update(done, (n) => n + 1)
            ),
          {
            concurrency: "unbounded"
          }
        )
      )
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Ref.get(done), 50)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(done), 52)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(yield* Ref.get(done), 60)
      yield* Fiber.join(fiber)
      // Another portal has its own bucket.
      const other = yield* Effect.fork(budget.take("other", "m"))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.poll(other))._tag, "Some")
    })
  )

  it.effect("a refusal by the portal fills the bucket, whatever core counted", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget.make({ limit: 10, drainPerSecond: 1, headroom: 0 })
      yield* budget.full("portal")
      const fiber = yield* Effect.fork(budget.take("portal", "m"))
      yield* TestClock.adjust("500 millis")
      assert.strictEqual((yield* Fiber.poll(fiber))._tag, "None")
      yield* TestClock.adjust("600 millis")
      yield* Fiber.join(fiber)
    })
  )

  it.effect("near the operating-time limit, a method waits for operating_reset_at", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget.make({ operatingLimitSeconds: 420, operatingThreshold: 0.9 })
      yield* TestClock.setTime(1_000_000)
      yield* budget.observeOperating("portal", "m", { operating: 400, operatingResetAt: 1_000 + 30 })
      const slowed = yield* Effect.fork(budget.take("portal", "m"))
      const otherMethod = yield* Effect.fork(budget.take("portal", "other"))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.poll(otherMethod))._tag, "Some")
      assert.strictEqual((yield* Fiber.poll(slowed))._tag, "None")
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(slowed)
      // A reset further away than the longest wait is refused at once, as the server would refuse it.
      yield* budget.observeOperating("portal", "m", { operating: 419, operatingResetAt: 1_031 + 600 })
      const refused = yield* Effect.flip(budget.take("portal", "m"))
      assert.strictEqual(refused._tag, "OperationTimeLimitError")
      assert.strictEqual(refused.source, "local")
      assert.isAbove(refused.retryAfterMillis!, 30_000)
    })
  )

  it.effect("layerConfig reads the bucket from the environment and refuses nonsense", () =>
    Effect.gen(function* () {
      const read = (values: Record<string, string>) =>
        Effect.exit(
          Effect.flatMap(RateBudget.RateBudget, () => Effect.void).pipe(
            Effect.provide(RateBudget.layerConfig()),
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(values))))
          )
        )
      assert.isTrue(
        Exit.isSuccess(yield* read({ LINECAST_BUCKET_LIMIT: "250", LINECAST_BUCKET_DRAIN_PER_SECOND: "5" }))
      )
      assert.isTrue(Exit.isFailure(yield* read({ LINECAST_BUCKET_LIMIT: "0" })))
      assert.isTrue(Exit.isFailure(yield* read({ LINECAST_BUCKET_LIMIT: "many" })))
    })
  )
})

describe("OpenChannel.layerConfig", () => {
  const build = (values: Record<string, string>) =>
    Effect.exit(
      Layer.build(
        OpenChannel.layerConfig().pipe(
          Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layerUnlimited, TokenStore.layerMemory()))
        )
      ).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(values)))))
    )

  it.effect("reads a webhook from LINECAST_WEBHOOK_URL and checks its host", () =>
    Effect.gen(function* () {
      assert.isTrue(Exit.isSuccess(yield* build({ LINECAST_WEBHOOK_URL: "https://portal.test/rest/1/abc/" })))
      const refused = yield* build({
        LINECAST_WEBHOOK_URL: "https://evil.test/rest/1/abc/",
        LINECAST_ALLOWED_HOSTS: "portal.test"
      })
      assert.isTrue(Exit.isFailure(refused))
      assert.notInclude(JSON.stringify(refused), "/abc/")
      assert.isTrue(Exit.isFailure(yield* build({ LINECAST_PORTAL_URL: "https://portal.test/rest/" })))
      assert.isTrue(
        Exit.isSuccess(
          yield* build({
            LINECAST_PORTAL_URL: "https://portal.test/rest/",
            LINECAST_CLIENT_ID: "app",
            LINECAST_CLIENT_SECRET: "s",
            LINECAST_ACCESS_TOKEN: "a",
            LINECAST_REFRESH_TOKEN: "r"
          })
        )
      )
    })
  )
})
