import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Cause, Effect, Either, Exit, Layer, Logger, LogLevel, Redacted, Tracer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "../src/index.js"
import { quickRetry, withWebhook } from "./harness.js"

const webhookCode = "SECRETwebhookCODE4242"

let emulator: RunningPortalEmulator
let echo: ReturnType<typeof createServer>
let echoUrl: string
beforeAll(async () => {
  emulator = await startPortalEmulator()
  emulator.control.portal("demo").addWebhook({ userId: 1, code: webhookCode })
  // A misbehaving proxy: answers HTML that repeats the request's URL, webhook code included.
  echo = createServer((request, response) => {
    response.writeHead(502, { "content-type": "text/html" })
    response.end(`<html><body>Bad gateway for ${request.url}</body></html>`)
  })
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve))
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => echo.close(resolve))
  await emulator.close()
})

const captured: Array<string> = []
const captureLogs = Layer.merge(
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message, annotations, cause, spans }) => {
      captured.push(
        JSON.stringify({ message, annotations: [...annotations], cause: Cause.pretty(cause), spans: [...spans] })
      )
    })
  ),
  Logger.minimumLogLevel(LogLevel.All)
)

// Every span's name, attributes and end (with its failure, if any) as text.
const spanTexts: Array<string> = []
const recordSpans = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (native) =>
    Layer.setTracer(
      Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          spanTexts.push(name, JSON.stringify(options?.attributes ?? {}))
          const span = native.span(name, parent, context, links, startTime, kind, options)
          const attribute = span.attribute.bind(span)
          const end = span.end.bind(span)
          return Object.assign(span, {
            attribute: (key: string, value: unknown) => {
              spanTexts.push(`${key}=${String(value)}`)
              attribute(key, value)
            },
            end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
              spanTexts.push(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "ok")
              end(endTime, exit)
            }
          })
        },
        context: (f, fiber) => native.context(f, fiber)
      })
    )
  )
)

describe("secrets never leave core", () => {
  it.live("no webhook code, token or client secret in logs or error messages", () =>
    Effect.gen(function* () {
      const webhookUrl = `${emulator.url}/rest/1/${webhookCode}/`
      const send = (url: string, options: Parameters<typeof withWebhook>[2] = {}) =>
        withWebhook(
          url,
          Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
            Effect.either(channel.send({ lineCode: emulator.lineCode, userId: 2, message: "hi" }))
          ),
          options
        )
      const errors: Array<unknown> = []
      const keep = (result: Either.Either<unknown, unknown>) => {
        if (Either.isLeft(result)) errors.push(result.left)
      }
      keep(yield* send(webhookUrl))
      keep(yield* send(webhookUrl)) // USER_MESSAGE_LIMIT
      emulator.control.configure("demo", { faults: { serverErrorRate: 1 } })
      keep(yield* send(webhookUrl, { retry: quickRetry }))
      emulator.control.configure("demo", { faults: { lostAnswerRate: 1 } })
      keep(yield* send(webhookUrl, { retry: quickRetry }))
      emulator.control.configure("demo", { faults: {} })
      keep(yield* send(`${echoUrl}/rest/1/${webhookCode}/`))
      keep(yield* send(`http://127.0.0.1:1/rest/1/${webhookCode}/`, { retry: quickRetry }))
      keep(
        yield* Effect.either(
          PortalAuth.webhook(`https://evil.test/rest/1/${webhookCode}/`, { allowedHosts: ["good.test"] })
        )
      )

      // OAuth: an expired token, a refresh, then a refused refresh.
      const app = emulator.control.createApp({ accessTokenLifetimeSeconds: 60 })
      const installation = emulator.control.installApp("demo", app.clientId)
      emulator.control.clock.advance(61_000)
      const oauthSend = (secret: string) =>
        Effect.gen(function* () {
          const auth = yield* PortalAuth.oauth({
            restUrl: installation.clientEndpoint,
            clientId: app.clientId,
            clientSecret: Redacted.make(secret),
            tokenUrl: emulator.control.oauthTokenUrl,
            initialTokens: {
              accessToken: Redacted.make(installation.accessToken),
              refreshToken: Redacted.make(installation.refreshToken)
            }
          })
          return yield* Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
            Effect.either(channel.send({ lineCode: emulator.lineCode, userId: 3, message: "hi" }))
          ).pipe(
            Effect.provide(
              OpenChannel.layer({ auth, retry: RetryPolicy.never }).pipe(
                Layer.provide(
                  Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layerUnlimited, TokenStore.layerMemory())
                )
              )
            )
          )
        })
      keep(yield* oauthSend("wrong-secret-value"))
      const ok = yield* oauthSend(app.clientSecret)
      assert.isTrue(Either.isRight(ok))

      assert.isAtLeast(errors.length, 7)
      assert.isAbove(captured.length, 0)
      const secrets = [webhookCode, installation.accessToken, installation.refreshToken, app.clientSecret]
      assert.isTrue(spanTexts.some((text) => text.startsWith("OpenChannel imopenlines.network.message.add")))
      const texts = [
        ...captured,
        ...spanTexts,
        ...errors.map((error) => `${(error as Error).message} ${JSON.stringify(error)} ${String(error)}`)
      ]
      for (const secret of secrets) {
        for (const text of texts) assert.notInclude(text, secret)
      }
      // The excerpt of the HTML answer was kept, with the code scrubbed.
      const bad = errors.find((error) => (error as { _tag?: string })._tag === "BadResponseError") as {
        excerpt: string
        status: number
        errorClass: string
      }
      assert.include(bad.excerpt, "/rest/1/***/")
      assert.strictEqual(bad.status, 502)
      assert.strictEqual(bad.errorClass, "ambiguous")
    }).pipe(Effect.provide(Layer.merge(captureLogs, recordSpans)))
  )
})
