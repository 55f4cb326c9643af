import { assert, describe, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, Either, Metric, Schedule } from "effect"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { type BitrixError, type NetworkMessage, OpenChannel, RateBudget, RetryPolicy } from "../src/index.js"
import { quickRetry, withWebhook } from "./harness.js"

let emulator: RunningPortalEmulator
beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.control.reset()
  emulator.control.configure("demo", {
    nfr: false,
    imbotInstalled: true,
    bucket: { limit: 50, drainPerSecond: 2 },
    operating: { limitSeconds: 420, windowSeconds: 600, costSeconds: 0 },
    faults: {}
  })
})

const message = (overrides: Partial<NetworkMessage.NetworkMessage> = {}): NetworkMessage.NetworkMessage => ({
  lineCode: emulator.lineCode,
  userId: 2,
  message: "[b]Hello[/b] from Linecast",
  ...overrides
})

const send = (
  overrides: Partial<NetworkMessage.NetworkMessage> = {},
  options: Parameters<typeof withWebhook>[2] = {}
) =>
  withWebhook(
    emulator.webhookUrl,
    Effect.flatMap(OpenChannel.OpenChannel, (channel) => Effect.either(channel.send(message(overrides)))),
    options
  )

const failureOf = <A, E>(result: Either.Either<A, E>): E => {
  if (Either.isRight(result)) throw new Error("expected a failure")
  return result.left
}

describe("OpenChannel.send over real HTTP", () => {
  it.live("sends a message and returns a receipt with the server's time", () =>
    Effect.gen(function* () {
      const result = yield* send()
      assert.isTrue(Either.isRight(result))
      const receipt = Either.getOrThrow(result)
      assert.strictEqual(receipt.result, true)
      assert.strictEqual(receipt.attempts, 1)
      assert.isString(receipt.requestId)
      assert.isNumber(receipt.time?.start)
      assert.isNumber(receipt.time?.operating)
      assert.strictEqual(emulator.control.inbox("demo", 2)[0]?.message, "[b]Hello[/b] from Linecast")
      const okCalls = OpenChannel.calls.pipe(
        Metric.tagged("method", "imopenlines.network.message.add"),
        Metric.tagged("outcome", "ok")
      )
      assert.isAtLeast((yield* Metric.value(okCalls)).count, 1)
    })
  )

  it.live("refuses invalid messages locally, before any request", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<[Partial<NetworkMessage.NetworkMessage>, string, string]> = [
        [{ lineCode: "short" }, "LineCodeError", "CODE"],
        [{ userId: 0 }, "UserIdEmptyError", "USER_ID_EMPTY"],
        [{ message: " \n" }, "MessageEmptyError", "MESSAGE_EMPTY"],
        [{ attachment: [{ link: { link: "mailto:x" } }] }, "AttachError", "ATTACH_ERROR"],
        [{ attachment: [{ message: "x".repeat(60_000) }] }, "AttachOversizeError", "ATTACH_OVERSIZE"],
        [{ keyboard: [{ text: " ", link: "https://x" }] }, "KeyboardError", "KEYBOARD_ERROR"]
      ]
      for (const [overrides, tag, code] of cases) {
        const error = failureOf(yield* send(overrides))
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(error.code, code)
        assert.strictEqual(error.errorClass, "permanent")
        assert.strictEqual((error as { source?: string }).source, "local")
      }
      assert.strictEqual(emulator.control.counters().requests, 0)
    })
  )

  it.live("each server error reaches the caller as its tagged error and class", () =>
    Effect.gen(function* () {
      // NOT_FOUND: a well-formed code of a line that was never joined.
      const notFound = failureOf(yield* send({ lineCode: "f".repeat(32) }))
      assert.strictEqual(notFound._tag, "LineNotFoundError")
      assert.strictEqual(notFound.errorClass, "permanent")
      assert.strictEqual((notFound as BitrixError.LineNotFoundError).status, 400)

      // USER_MESSAGE_LIMIT: the second message of the week to the same user.
      assert.isTrue(Either.isRight(yield* send()))
      const limit = failureOf(yield* send())
      assert.strictEqual(limit._tag, "UserMessageLimitError")
      assert.strictEqual(limit.errorClass, "quota")

      // WRONG_REQUEST: the user does not exist, so the send itself fails.
      const wrong = failureOf(yield* send({ userId: 999 }))
      assert.strictEqual(wrong._tag, "WrongRequestError")

      emulator.control.configure("demo", { imbotInstalled: false })
      const imbot = failureOf(yield* send({ userId: 3 }))
      assert.strictEqual(imbot._tag, "ImbotMissingError")
      emulator.control.configure("demo", { imbotInstalled: true })

      // OPERATION_TIME_LIMIT: each call costs more than the budget.
      emulator.control.configure("demo", { operating: { limitSeconds: 1, windowSeconds: 600, costSeconds: 5 } })
      yield* send({ userId: 4 })
      const operating = failureOf(yield* send({ userId: 5 }))
      assert.strictEqual(operating._tag, "OperationTimeLimitError")
      assert.strictEqual(operating.errorClass, "rateLimited")
      assert.strictEqual((operating as BitrixError.OperationTimeLimitError).status, 429)
    })
  )

  it.live("auth errors: wrong webhook code, missing scope", () =>
    Effect.gen(function* () {
      const wrongCode = emulator.webhookUrl.replace(/\/[^/]+\/$/, "/wrongcode/")
      const invalid = failureOf(
        yield* withWebhook(
          wrongCode,
          Effect.flatMap(OpenChannel.OpenChannel, (channel) => Effect.either(channel.send(message())))
        )
      )
      assert.strictEqual(invalid._tag, "InvalidCredentialsError")
      assert.strictEqual(invalid.errorClass, "auth")
      const portal = emulator.control.portal("demo")
      const narrow = portal.addWebhook({ userId: 1, scopes: ["crm"] })
      const narrowUrl = emulator.webhookUrl.replace(/\/rest\/.*$/, `/rest/1/${narrow.code}/`)
      const scope = failureOf(
        yield* withWebhook(
          narrowUrl,
          Effect.flatMap(OpenChannel.OpenChannel, (channel) => Effect.either(channel.send(message())))
        )
      )
      assert.strictEqual(scope._tag, "InsufficientScopeError")
      assert.strictEqual(scope.errorClass, "auth")
    })
  )

  it.live("QUERY_LIMIT_EXCEEDED is rateLimited and retried when the policy allows; counted by the emulator", () =>
    Effect.gen(function* () {
      emulator.control.configure("demo", { bucket: { limit: 1, drainPerSecond: 20 } })
      // Core's own budget is off here, so that the portal's bucket refuses.
      const first = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          Effect.all([channel.send(message({ userId: 2 })), Effect.either(channel.send(message({ userId: 3 })))])
        )
      )
      const refused = failureOf(first[1])
      assert.strictEqual(refused._tag, "QueryLimitExceededError")
      assert.strictEqual(refused.errorClass, "rateLimited")
      assert.strictEqual(emulator.control.counters().requests, 2)

      emulator.control.reset()
      emulator.control.configure("demo", { bucket: { limit: 1, drainPerSecond: 20 } })
      const retried = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          Effect.all([channel.send(message({ userId: 2 })), channel.send(message({ userId: 3 }))])
        ),
        { retry: RetryPolicy.make(RetryPolicy.exponential({ base: "30 millis", cap: "100 millis", times: 6 })) }
      )
      const counters = emulator.control.counters()
      assert.isAbove(counters.bucketRejections, 0)
      assert.strictEqual(retried[1].attempts, counters.requests - 1)
      assert.strictEqual(counters.accepted, 2)
    })
  )

  it.live("an ambiguous 5xx is never resent", () =>
    Effect.gen(function* () {
      emulator.control.configure("demo", { faults: { serverErrorRate: 1 } })
      const error = failureOf(yield* send({}, { retry: quickRetry }))
      assert.strictEqual(error._tag, "InternalServerError")
      assert.strictEqual(error.errorClass, "ambiguous")
      assert.strictEqual(emulator.control.counters().faults.serverErrors, 1)

      emulator.control.reset()
      emulator.control.configure("demo", {
        faults: { serverErrorRate: 1, serverErrorStatus: 502, serverErrorCode: "ERROR_UNEXPECTED_ANSWER" }
      })
      const unexpected = failureOf(yield* send({}, { retry: quickRetry }))
      assert.strictEqual(unexpected._tag, "UnexpectedAnswerError")
      assert.strictEqual((unexpected as BitrixError.UnexpectedAnswerError).status, 502)
      assert.strictEqual(unexpected.errorClass, "ambiguous")
      assert.strictEqual(emulator.control.counters().faults.serverErrors, 1)
    })
  )

  it.live("a lost answer surfaces as ambiguous, is not resent, and the message was delivered", () =>
    Effect.gen(function* () {
      emulator.control.configure("demo", { faults: { lostAnswerRate: 1 } })
      const error = failureOf(yield* send({}, { retry: quickRetry }))
      assert.strictEqual(error._tag, "ConnectionResetError")
      assert.strictEqual(error.errorClass, "ambiguous")
      assert.strictEqual(emulator.control.counters().faults.lostAnswers, 1)
      assert.strictEqual(emulator.control.counters().accepted, 1)
      assert.strictEqual(emulator.control.inbox("demo", 2).length, 1)
    })
  )

  it.live("a reset connection is ambiguous and a hung request times out as ambiguous; neither is resent", () =>
    Effect.gen(function* () {
      emulator.control.configure("demo", { faults: { resetRate: 1 } })
      const reset = failureOf(yield* send({}, { retry: quickRetry }))
      assert.strictEqual(reset._tag, "ConnectionResetError")
      assert.strictEqual(emulator.control.counters().faults.resets, 1)

      emulator.control.reset()
      emulator.control.configure("demo", { faults: { hangRate: 1, hangMs: 2_000 } })
      const hung = failureOf(yield* send({}, { retry: quickRetry, timeout: 300 }))
      assert.strictEqual(hung._tag, "RequestTimeoutError")
      assert.strictEqual(hung.errorClass, "ambiguous")
      assert.strictEqual(emulator.control.counters().faults.hangs, 1)
    })
  )

  it.live("a refused connection did not send anything and is retried", () =>
    Effect.gen(function* () {
      // Port 1 on loopback: nothing listens there.
      const error = failureOf(
        yield* withWebhook(
          "http://127.0.0.1:1/rest/1/secretcode/",
          Effect.flatMap(OpenChannel.OpenChannel, (channel) => Effect.either(channel.send(message()))),
          { retry: quickRetry }
        )
      )
      assert.strictEqual(error._tag, "ConnectionRefusedError")
      assert.strictEqual(error.errorClass, "retryable")
    })
  )

  it.live("a burst of 200 sends against the portal's bucket gets no QUERY_LIMIT_EXCEEDED", () =>
    Effect.gen(function* () {
      // A faster bucket than the real 50/2 (30 and 40/s) keeps the test near 5 s. The caller must see no
      // QUERY_LIMIT_EXCEEDED: core paces the burst, and retries the rare refusal that scheduling jitter on this shared
      // machine can still cause (a refusal is known not to have run). Unpaced, 200 concurrent sends against a bucket
      // of 30 would be refused well over a hundred times, so the portal's own count shows the pacing.
      emulator.control.configure("demo", { nfr: true, bucket: { limit: 30, drainPerSecond: 40 } })
      const results = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          Effect.forEach(
            Array.from({ length: 200 }, (_, index) => message({ userId: (index % 6) + 1 })),
            (item) => Effect.either(channel.send(item)),
            { concurrency: "unbounded" }
          )
        ),
        { budget: RateBudget.layer({ limit: 30, drainPerSecond: 40, headroom: 16 }), retry: quickRetry }
      )
      const refused = results.filter(Either.isLeft).map((result) => result.left.code)
      assert.deepStrictEqual(refused, [])
      const counters = emulator.control.counters()
      assert.strictEqual(counters.accepted, 200)
      assert.isBelow(counters.bucketRejections, 20)
    })
  )

  it.live("join connects a network line", () =>
    Effect.gen(function* () {
      const code = emulator.control.portal("demo").addLine({ joined: false }).code
      const joined = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) => channel.join(code))
      )
      assert.isDefined(joined.result)
      const short = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) => Effect.either(channel.join("short")))
      )
      assert.strictEqual(failureOf(short)._tag, "LineCodeError")
    })
  )
})

describe("OpenChannel.sendMany", () => {
  it.live("packs 50 messages per batch call with per-message outcomes", () =>
    Effect.gen(function* () {
      emulator.control.configure("demo", { nfr: true })
      const messages = Array.from({ length: 60 }, (_, index) =>
        message({ userId: (index % 6) + 1, message: `m${index}` })
      )
      const outcomes = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          channel.sendMany([...messages, message({ message: "" }), message({ userId: 999 })])
        )
      )
      assert.strictEqual(outcomes.length, 62)
      assert.strictEqual(outcomes.slice(0, 60).filter(Either.isRight).length, 60)
      assert.strictEqual(failureOf(outcomes[60]!)._tag, "MessageEmptyError")
      assert.strictEqual(failureOf(outcomes[61]!)._tag, "WrongRequestError")
      const counters = emulator.control.counters()
      assert.strictEqual(counters.calls.batch, 2)
      assert.strictEqual(counters.accepted, 60)
    })
  )

  it.live("a command refused inside the batch before it ran is sent again in a later round", () =>
    Effect.gen(function* () {
      emulator.control.configure("demo", {
        nfr: true,
        operating: { limitSeconds: 3, windowSeconds: 600, costSeconds: 1 }
      })
      // The schedule's pause between rounds moves the emulator's clock past the operating window.
      const policy = RetryPolicy.make(
        Schedule.recurs(2).pipe(Schedule.tapOutput(() => Effect.sync(() => emulator.control.clock.advance(601_000))))
      )
      const outcomes = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          channel.sendMany(Array.from({ length: 6 }, (_, index) => message({ userId: index + 1 })))
        ),
        { retry: policy }
      )
      assert.deepStrictEqual(
        outcomes.filter(Either.isLeft).map((outcome) => outcome.left.code),
        []
      )
      const counters = emulator.control.counters()
      assert.isAbove(counters.rejected.OPERATION_TIME_LIMIT ?? 0, 0)
      assert.strictEqual(counters.calls.batch, 2)
      assert.strictEqual(counters.accepted, 6)
      assert.strictEqual(Either.getOrThrow(outcomes[5]!).attempts, 2)
    })
  )

  it.live("a weekly-limited recipient fails alone inside the batch", () =>
    Effect.gen(function* () {
      const outcomes = yield* withWebhook(
        emulator.webhookUrl,
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          channel.sendMany([message({ userId: 2 }), message({ userId: 2 }), message({ userId: 3 })])
        )
      )
      assert.isTrue(Either.isRight(outcomes[0]!))
      const limited = failureOf(outcomes[1]!)
      assert.strictEqual(limited._tag, "UserMessageLimitError")
      assert.strictEqual(limited.errorClass, "quota")
      assert.isTrue(Either.isRight(outcomes[2]!))
    })
  )
})
