import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Either, Layer, Redacted, Ref } from "effect"
import { afterAll, beforeAll } from "vitest"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "../src/index.js"

let emulator: RunningPortalEmulator
beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())

describe("OAuth", () => {
  it.live("an expired token is refreshed once for 20 concurrent sends, and the rotated tokens are stored", () =>
    Effect.gen(function* () {
      emulator.control.reset()
      emulator.control.configure("demo", { nfr: true })
      const app = emulator.control.createApp({ accessTokenLifetimeSeconds: 60 })
      const installation = emulator.control.installApp("demo", app.clientId)
      // The access token expires on the emulator's clock.
      emulator.control.clock.advance(61_000)
      const renewals = yield* Ref.make(0)
      const auth = yield* PortalAuth.oauth({
        restUrl: installation.clientEndpoint,
        clientId: app.clientId,
        clientSecret: Redacted.make(app.clientSecret),
        tokenUrl: emulator.control.oauthTokenUrl,
        initialTokens: {
          accessToken: Redacted.make(installation.accessToken),
          refreshToken: Redacted.make(installation.refreshToken)
        },
        onRenew: () => Ref.update(renewals, (n) => n + 1)
      })
      const store = yield* TokenStore.makeMemory()
      const layer = OpenChannel.layer({ auth, retry: RetryPolicy.never }).pipe(
        Layer.provide(
          Layer.mergeAll(
            NodeHttpClient.layerUndici,
            RateBudget.layerUnlimited,
            Layer.succeed(TokenStore.TokenStore, store)
          )
        )
      )
      const results = yield* Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
        Effect.forEach(
          Array.from({ length: 20 }, (_, index) => index),
          (index) =>
            Effect.either(
              channel.send({ lineCode: emulator.lineCode, userId: (index % 6) + 1, message: `hello ${index}` })
            ),
          { concurrency: "unbounded" }
        )
      ).pipe(Effect.provide(layer))
      assert.deepStrictEqual(
        results.filter(Either.isLeft).map((result) => result.left.code),
        []
      )
      assert.strictEqual(yield* Ref.get(renewals), 1)
      const stored = yield* store.get(auth.host)
      assert.isDefined(stored)
      assert.notStrictEqual(Redacted.value(stored!.refreshToken), installation.refreshToken)
      assert.strictEqual(emulator.control.counters().rejected.expired_token, 20)
      assert.strictEqual(emulator.control.counters().accepted, 20)
    })
  )

  it.live("a refused refresh is a TokenRefreshError of class auth", () =>
    Effect.gen(function* () {
      emulator.control.reset()
      const app = emulator.control.createApp({ accessTokenLifetimeSeconds: 60 })
      const installation = emulator.control.installApp("demo", app.clientId)
      emulator.control.clock.advance(61_000)
      const auth = yield* PortalAuth.oauth({
        restUrl: installation.clientEndpoint,
        clientId: app.clientId,
        clientSecret: Redacted.make("not-the-secret"),
        tokenUrl: emulator.control.oauthTokenUrl,
        initialTokens: {
          accessToken: Redacted.make(installation.accessToken),
          refreshToken: Redacted.make(installation.refreshToken)
        }
      })
      const result = yield* Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
        Effect.either(channel.send({ lineCode: emulator.lineCode, userId: 2, message: "hello" }))
      ).pipe(
        Effect.provide(
          OpenChannel.layer({ auth, retry: RetryPolicy.never }).pipe(
            Layer.provide(
              Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layerUnlimited, TokenStore.layerMemory())
            )
          )
        )
      )
      assert.isTrue(Either.isLeft(result))
      const error = (result as Either.Left<any, any>).left
      assert.strictEqual(error._tag, "TokenRefreshError")
      assert.strictEqual(error.code, "invalid_client")
      assert.strictEqual(error.errorClass, "auth")
    })
  )
})

describe("PortalAuth addresses", () => {
  it.effect("refuses plain HTTP off loopback, hosts outside the allow-list, and malformed webhook URLs", () =>
    Effect.gen(function* () {
      const http = yield* Effect.flip(PortalAuth.webhook("http://portal.bitrix24.test/rest/1/code/"))
      assert.strictEqual(http._tag, "PortalAddressError")
      const foreign = yield* Effect.flip(
        PortalAuth.webhook("https://evil.test/rest/1/code/", { allowedHosts: ["portal.bitrix24.test"] })
      )
      assert.include(foreign.reason, "allow-list")
      assert.notInclude(foreign.message, "code/")
      const shape = yield* Effect.flip(PortalAuth.webhook("https://portal.bitrix24.test/rest/code/"))
      assert.include(shape.reason, "/rest/<userId>/<code>/")
      const fine = yield* PortalAuth.webhook("https://portal.bitrix24.test/rest/1/s3cr3t/", {
        allowedHosts: ["portal.bitrix24.test"]
      })
      assert.strictEqual(fine.userId, "1")
      assert.notInclude(JSON.stringify(fine), "s3cr3t")
      assert.notInclude(String(fine.code), "s3cr3t")
      for (const loopback of [
        "http://127.0.0.1:1/rest/1/c/",
        "http://localhost/rest/1/c/",
        "http://[::1]:8080/rest/1/c/"
      ]) {
        yield* PortalAuth.webhook(loopback)
      }
    })
  )
})
