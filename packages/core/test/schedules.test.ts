import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Ref, Schedule, TestClock } from "effect"
import { BitrixError, RetryPolicy } from "../src/index.js"

const rateLimited = new BitrixError.QueryLimitExceededError({
  description: "Too many requests",
  status: 503,
  source: "server"
})
const ambiguous = new BitrixError.InternalServerError({
  description: "Internal server error",
  status: 500,
  source: "server"
})

const failingWith = (error: BitrixError.BitrixError, attempts: Ref.Ref<number>) =>
  Effect.zipRight(
    Ref.update(attempts, (n) => n + 1),
    Effect.fail(error)
  )

describe("retry schedules", () => {
  it.effect("exponential, jittered, capped and bounded", () =>
    Effect.gen(function* () {
      const schedule = RetryPolicy.exponential({ base: "1 second", cap: "5 seconds", times: 6 })
      const delays = Chunk.toReadonlyArray(
        yield* Schedule.run(
          Schedule.delays(schedule),
          0,
          Array.from({ length: 20 }, () => undefined)
        )
      )
        .map(Duration.toMillis)
        // The last output is the step at which the schedule ends (no further pause).
        .slice(0, -1)
      assert.strictEqual(delays.length, 6)
      for (const [index, delay] of delays.entries()) {
        assert.isAtMost(delay, 5_000)
        // Jitter keeps each pause between 80% and 120% of 2^index seconds, before the cap.
        assert.isAtLeast(delay, Math.min(0.8 * 1_000 * 2 ** index, 5_000))
      }
      assert.strictEqual(delays.at(-1), 5_000)
    })
  )

  it.effect("a rate-limited error is retried on the schedule; the clock drives it", () =>
    Effect.gen(function* () {
      const attempts = yield* Ref.make(0)
      const policy = RetryPolicy.make(RetryPolicy.exponential({ base: "1 second", cap: "4 seconds", times: 3 }))
      const fiber = yield* Effect.fork(
        failingWith(rateLimited, attempts).pipe(Effect.retry({ schedule: policy.schedule, while: policy.retryWhen }))
      )
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(exit._tag === "Failure")
      assert.strictEqual(yield* Ref.get(attempts), 4)
    })
  )

  it.effect("an ambiguous error is never retried, even by a policy that asks to", () =>
    Effect.gen(function* () {
      const attempts = yield* Ref.make(0)
      const greedy = RetryPolicy.make(Schedule.recurs(5), () => true)
      const fiber = yield* Effect.fork(
        failingWith(ambiguous, attempts).pipe(Effect.retry({ schedule: greedy.schedule, while: greedy.retryWhen }))
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.await(fiber)
      assert.strictEqual(yield* Ref.get(attempts), 1)
      assert.isFalse(RetryPolicy.defaultPolicy.retryWhen(ambiguous))
      assert.isTrue(RetryPolicy.defaultPolicy.retryWhen(rateLimited))
    })
  )

  it("every documented code maps to its own tagged error with a class", () => {
    const expected: Record<string, [string, BitrixError.ErrorClass]> = {
      WRONG_AUTH_TYPE: ["WrongAuthTypeError", "auth"],
      CODE: ["LineCodeError", "permanent"],
      IMBOT_ERROR: ["ImbotMissingError", "permanent"],
      NOT_FOUND: ["LineNotFoundError", "permanent"],
      USER_ID_EMPTY: ["UserIdEmptyError", "permanent"],
      USER_MESSAGE_LIMIT: ["UserMessageLimitError", "quota"],
      MESSAGE_EMPTY: ["MessageEmptyError", "permanent"],
      ATTACH_OVERSIZE: ["AttachOversizeError", "permanent"],
      ATTACH_ERROR: ["AttachError", "permanent"],
      KEYBOARD_ERROR: ["KeyboardError", "permanent"],
      WRONG_REQUEST: ["WrongRequestError", "permanent"],
      INTERNAL_SERVER_ERROR: ["InternalServerError", "ambiguous"],
      ERROR_UNEXPECTED_ANSWER: ["UnexpectedAnswerError", "ambiguous"],
      QUERY_LIMIT_EXCEEDED: ["QueryLimitExceededError", "rateLimited"],
      OPERATION_TIME_LIMIT: ["OperationTimeLimitError", "rateLimited"],
      NO_AUTH_FOUND: ["NoAuthFoundError", "auth"],
      INVALID_REQUEST: ["HttpsRequiredError", "permanent"],
      OVERLOAD_LIMIT: ["OverloadLimitError", "permanent"],
      ACCESS_DENIED: ["AccessDeniedError", "permanent"],
      INVALID_CREDENTIALS: ["InvalidCredentialsError", "auth"],
      ERROR_METHOD_NOT_FOUND: ["MethodNotFoundError", "permanent"],
      insufficient_scope: ["InsufficientScopeError", "auth"],
      expired_token: ["ExpiredTokenError", "auth"],
      invalid_token: ["InvalidTokenError", "auth"],
      user_access_error: ["UserAccessError", "auth"],
      PORTAL_DELETED: ["PortalDeletedError", "permanent"],
      ERROR_BATCH_LENGTH_EXCEEDED: ["BatchLengthExceededError", "retryable"],
      ERROR_BATCH_METHOD_NOT_ALLOWED: ["BatchMethodNotAllowedError", "permanent"],
      ERROR_MANIFEST_IS_NOT_AVAILABLE: ["ManifestNotAvailableError", "permanent"]
    }
    assert.sameMembers([...BitrixError.knownCodes], Object.keys(expected))
    for (const [code, [tag, errorClass]] of Object.entries(expected)) {
      const error = BitrixError.fromAnswer({ code, description: "d", status: 400 })
      assert.strictEqual(error._tag, tag)
      assert.strictEqual(error.code, code)
      assert.strictEqual(error.errorClass, errorClass)
      assert.isTrue(BitrixError.isBitrixError(error))
    }
    // Codes compare exactly: another case is another (unknown) code, kept as sent.
    const unknown = BitrixError.fromAnswer({ code: "Expired_Token", description: "d", status: 503 })
    assert.strictEqual(unknown._tag, "UnknownBitrixError")
    assert.strictEqual(unknown.code, "Expired_Token")
    assert.strictEqual(unknown.errorClass, "ambiguous")
  })
})
