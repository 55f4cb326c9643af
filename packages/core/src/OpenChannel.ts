/**
 * The heart of core: send messages through a network open line. `send` validates a message as the
 * server would, waits for the portal's rate budget, calls `imopenlines.network.message.add`, and
 * answers a receipt or a typed error; it retries only what did not execute, refreshes an expired
 * OAuth token once (single-flight), and never puts a secret in a log, an error or a span.
 * `sendMany` packs up to 50 messages per `batch` call; `join` connects a network line.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { BitrixError, ValidationError } from "./BitrixError.js"
import {
  BadResponseError,
  ConnectionRefusedError,
  ConnectionResetError,
  fromAnswer,
  LineCodeError,
  RequestTimeoutError
} from "./BitrixError.js"
import type { PhpValue } from "./internal/php.js"
import { characterLength } from "./internal/php.js"
import { httpBuildQuery } from "./internal/phpQuery.js"
import type { NetworkMessage, ValidationOptions } from "./NetworkMessage.js"
import { validate } from "./NetworkMessage.js"
import type { OAuthAuth, PortalAddressError, PortalAuth } from "./PortalAuth.js"
import { oauth as oauthAuth, scrub, secretsOf, TokenRefreshError, webhook } from "./PortalAuth.js"
import { RateBudget } from "./RateBudget.js"
import {
  BatchResult,
  type ErrorEnvelope,
  type ResponseTime,
  ResponseTime as ResponseTimeSchema
} from "./ResponseEnvelope.js"
import type { RetryPolicy } from "./RetryPolicy.js"
import { defaultPolicy } from "./RetryPolicy.js"
import type { OAuthTokens } from "./TokenStore.js"
import { TokenStore } from "./TokenStore.js"

/**
 * What a successful call returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface Receipt {
  /** Core's id of the call, also in its logs and span. */
  readonly requestId: string
  /** How many requests it took (1 without retries). */
  readonly attempts: number
  /** The server's timing, when it sent one. */
  readonly time: ResponseTime | undefined
  /** The method's `result` (`true` for a sent message). */
  readonly result: unknown
}

/**
 * Everything `send` can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type SendError = BitrixError | ValidationError | TokenRefreshError

/**
 * @since 0.1.0
 * @category models
 */
export interface OpenChannelOptions {
  readonly auth: PortalAuth
  /** Default {@link RetryPolicy.defaultPolicy}. */
  readonly retry?: RetryPolicy | undefined
  /** How long to wait for an answer; past it the call is `ambiguous`. Default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly validation?: ValidationOptions | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class OpenChannel extends Context.Tag("@linecast/core/OpenChannel")<OpenChannel, OpenChannel.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace OpenChannel {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Sends one message. */
    readonly send: (message: NetworkMessage) => Effect.Effect<Receipt, SendError>
    /** Sends many messages, 50 per `batch` call with `halt=0`; one outcome per message, in order. */
    readonly sendMany: (
      messages: ReadonlyArray<NetworkMessage>
    ) => Effect.Effect<ReadonlyArray<Either.Either<Receipt, SendError>>>
    /** Connects a network open line to the portal (`imopenlines.network.join`). */
    readonly join: (lineCode: string) => Effect.Effect<Receipt, SendError>
    /** Any REST method, with the same budget, retries, auth and error mapping. */
    readonly call: (method: string, params: Readonly<Record<string, PhpValue>>) => Effect.Effect<Receipt, SendError>
    /** The portal's host: the key of its leaky bucket in {@link budget}. */
    readonly host: string
    /** The rate budget this channel draws on. */
    readonly budget: RateBudget.Service
  }
}

/**
 * Calls by method and outcome (`ok` or the error code).
 *
 * @since 0.1.0
 * @category metrics
 */
export const calls = Metric.counter("linecast_core_calls", { description: "REST calls by method and outcome" })

/**
 * Requests sent again after an error that did not execute.
 *
 * @since 0.1.0
 * @category metrics
 */
export const retries = Metric.counter("linecast_core_retries", { description: "Requests sent again" })

const messageMethod = "imopenlines.network.message.add"
const batchSize = 50

const systemCode = (cause: unknown): string | undefined => {
  let current: unknown = cause
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const notSent = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])

const requestIdOf = (): string => globalThis.crypto.randomUUID()

const decodeTime = Schema.decodeUnknownOption(ResponseTimeSchema)

// Tagged metrics are looked up by their tags on every update; keep one per (method, outcome).
const taggedCalls = new Map<string, Metric.Metric.Counter<number>>()
const callsFor = (method: string, outcome: string) => {
  const key = `${method}|${outcome}`
  let metric = taggedCalls.get(key)
  if (metric === undefined) {
    metric = calls.pipe(Metric.tagged("method", method), Metric.tagged("outcome", outcome))
    taggedCalls.set(key, metric)
  }
  return metric
}
const decodeBatch = Schema.decodeUnknownOption(BatchResult)
/**
 * `Effect.timeoutFail` for one request, with one timer and one child fiber instead of a race of two fibers and a
 * sleep (which cost more than the rest of a send): the request runs with the caller's runtime (context, log
 * annotations, span), is interrupted when the timer fires, and the caller's own interruption interrupts it too.
 */
const withTimeout =
  <E2>(millis: number, onTimeout: () => E2) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2, R> =>
    Effect.flatMap(Effect.runtime<R>(), (runtime) =>
      Effect.async<A, E | E2>((resume) => {
        let done = false
        const fiber = Runtime.runFork(runtime)(self)
        const timer = setTimeout(() => {
          if (done) return
          done = true
          // As `timeoutFail` does: the request is interrupted, and awaited, before the timeout error.
          resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout())))
        }, millis)
        fiber.addObserver((exit) => {
          if (done) return
          done = true
          clearTimeout(timer)
          resume(exit)
        })
        return Effect.suspend(() => {
          done = true
          clearTimeout(timer)
          return Fiber.interrupt(fiber)
        })
      })
    )

const taggedRetries = new Map<string, Effect.Effect<void>>()
const retriesFor = (method: string) => {
  let increment = taggedRetries.get(method)
  if (increment === undefined) {
    increment = Metric.increment(Metric.tagged(retries, "method", method))
    taggedRetries.set(method, increment)
  }
  return increment
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: OpenChannelOptions
): Effect.Effect<OpenChannel.Service, never, HttpClient.HttpClient | RateBudget | TokenStore> =>
  Effect.gen(function* () {
    const auth = options.auth
    const policy = options.retry ?? defaultPolicy
    const timeout = Duration.decode(options.timeout ?? "30 seconds")
    const budget = yield* RateBudget
    const store = yield* TokenStore
    // Core draws its own span without the URL: the client's span would record the webhook code.
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const refreshLock = yield* Effect.makeSemaphore(1)

    const currentTokens = (oauth: OAuthAuth) =>
      Effect.map(store.get(oauth.host), (tokens) => tokens ?? oauth.initialTokens)

    const secrets = (tokens?: OAuthTokens) => secretsOf(auth, tokens)

    const excerpt = (text: string, tokens?: OAuthTokens) => {
      const clean = scrub(text, secrets(tokens))
      return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean
    }

    const refresh = (oauth: OAuthAuth, stale: OAuthTokens | undefined) =>
      refreshLock.withPermits(1)(
        Effect.gen(function* () {
          const current = yield* currentTokens(oauth)
          // Another fiber renewed while this one waited for the lock: use its tokens.
          if (
            current !== undefined &&
            (stale === undefined || Redacted.value(current.accessToken) !== Redacted.value(stale.accessToken))
          ) {
            return current
          }
          if (current === undefined) {
            return yield* new TokenRefreshError({ code: "NO_REFRESH_TOKEN", description: "No tokens to refresh" })
          }
          const request = HttpClientRequest.post(oauth.tokenUrl).pipe(
            HttpClientRequest.bodyUrlParams({
              grant_type: "refresh_token",
              client_id: oauth.clientId,
              client_secret: Redacted.value(oauth.clientSecret),
              refresh_token: Redacted.value(current.refreshToken)
            })
          )
          const response = yield* client.execute(request).pipe(
            Effect.mapError(
              () =>
                new TokenRefreshError({
                  code: "TOKEN_ENDPOINT_UNREACHABLE",
                  description: "The token endpoint did not answer"
                })
            )
          )
          const text = yield* Effect.orElseSucceed(response.text, () => "")
          const body = yield* Effect.try({
            try: () => JSON.parse(text) as Record<string, unknown>,
            catch: () =>
              new TokenRefreshError({
                code: "BAD_RESPONSE",
                description: excerpt(text, current),
                status: response.status
              })
          })
          if (typeof body.access_token !== "string" || typeof body.refresh_token !== "string") {
            return yield* new TokenRefreshError({
              code: typeof body.error === "string" ? body.error : "BAD_RESPONSE",
              description: excerpt(typeof body.error_description === "string" ? body.error_description : text, current),
              status: response.status
            })
          }
          const renewed: OAuthTokens = {
            accessToken: Redacted.make(body.access_token),
            refreshToken: Redacted.make(body.refresh_token),
            expiresAt: typeof body.expires === "number" ? body.expires * 1000 : undefined
          }
          yield* store.set(oauth.host, renewed)
          yield* Effect.logInfo("OAuth token renewed")
          if (oauth.onRenew !== undefined) yield* oauth.onRenew(renewed)
          return renewed
        })
      )

    const transportError = (error: HttpClientError.HttpClientError, requestId: string): BitrixError => {
      const code = systemCode(error.cause) ?? "UNKNOWN"
      if (error._tag === "RequestError" && notSent.has(code))
        return new ConnectionRefusedError({ reason: code, requestId })
      return new ConnectionResetError({ reason: code, requestId })
    }

    /** One request, no retry. */
    const attempt = (
      method: string,
      params: Readonly<Record<string, PhpValue>>,
      requestId: string,
      tokens: OAuthTokens | undefined
    ): Effect.Effect<{ readonly result: unknown; readonly time: ResponseTime | undefined }, BitrixError> =>
      Effect.gen(function* () {
        yield* budget.take(auth.host, method)
        const url =
          auth._tag === "Webhook"
            ? `${auth.base}/rest/${auth.userId}/${Redacted.value(auth.code)}/${method}.json`
            : `${auth.restUrl}${method}.json`
        const body = tokens === undefined ? params : { ...params, auth: Redacted.value(tokens.accessToken) }
        const request = HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson(body))
        const { status, text } = yield* client.execute(request).pipe(
          Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, text }))),
          Effect.scoped,
          Effect.mapError((error) => transportError(error, requestId)),
          withTimeout(
            Duration.toMillis(timeout),
            () => new RequestTimeoutError({ timeoutMillis: Duration.toMillis(timeout), requestId })
          )
        )
        let answer: unknown
        try {
          answer = JSON.parse(text)
        } catch {
          return yield* new BadResponseError({ status, excerpt: excerpt(text, tokens), requestId })
        }
        if (
          typeof answer === "object" &&
          answer !== null &&
          typeof (answer as { error?: unknown }).error === "string"
        ) {
          const { error, error_description } = answer as { error: string; error_description?: unknown }
          const failure = fromAnswer({
            code: error,
            description: excerpt(typeof error_description === "string" ? error_description : "", tokens),
            status,
            requestId
          })
          if (failure._tag === "QueryLimitExceededError") yield* budget.full(auth.host)
          if (failure._tag === "OperationTimeLimitError") yield* budget.blockOperating(auth.host, method, 60_000)
          return yield* failure
        }
        if (typeof answer !== "object" || answer === null || !("result" in answer) || status >= 300) {
          return yield* new BadResponseError({ status, excerpt: excerpt(text, tokens), requestId })
        }
        const time = Option.getOrUndefined(decodeTime((answer as { time?: unknown }).time))
        if (time !== undefined) yield* budget.observeOperating(auth.host, method, time)
        return { result: (answer as { result: unknown }).result, time }
      })

    /** One attempt with the current credentials; an expired token is renewed once and the request sent again. */
    const authorised = (method: string, params: Readonly<Record<string, PhpValue>>, requestId: string) =>
      auth._tag === "Webhook"
        ? attempt(method, params, requestId, undefined)
        : Effect.flatMap(currentTokens(auth), (tokens) =>
            attempt(method, params, requestId, tokens).pipe(
              Effect.catchTag("ExpiredTokenError", () =>
                Effect.flatMap(refresh(auth, tokens), (renewed) => attempt(method, params, requestId, renewed))
              )
            )
          )

    const call = (method: string, params: Readonly<Record<string, PhpValue>>): Effect.Effect<Receipt, SendError> =>
      Effect.suspend(() => {
        const requestId = requestIdOf()
        // The attempt counter is local to this call (one fiber runs its attempts in turn): no Ref needed.
        let attempts = 0
        const counted = Effect.suspend(() => {
          attempts++
          return attempts > 1
            ? Effect.zipRight(retriesFor(method), authorised(method, params, requestId))
            : authorised(method, params, requestId)
        })
        return counted.pipe(
          Effect.retry({ schedule: policy.schedule, while: (error) => policy.retryWhen(error) }),
          Effect.tapBoth({
            onFailure: (error) =>
              Effect.zipRight(
                Metric.increment(callsFor(method, error.code)),
                Effect.logDebug(`${method} failed: ${error.message}`).pipe(
                  Effect.annotateLogs({ errorClass: error.errorClass })
                )
              ),
            onSuccess: () => Metric.increment(callsFor(method, "ok"))
          }),
          Effect.map((outcome): Receipt => ({ requestId, attempts, time: outcome.time, result: outcome.result })),
          Effect.annotateLogs({ requestId, portal: auth.host, method }),
          // No stack trace per span: capturing one costs more than the rest of the span on every send.
          Effect.withSpan(`OpenChannel ${method}`, {
            attributes: { "linecast.request_id": requestId, "linecast.portal": auth.host, "rpc.method": method },
            captureStackTrace: false
          })
        )
      })

    const send = (message: NetworkMessage) =>
      Effect.flatMap(validate(message, options.validation), (validated) => call(messageMethod, validated.wire))

    const sendMany = (messages: ReadonlyArray<NetworkMessage>) =>
      Effect.gen(function* () {
        const outcomes: Array<Either.Either<Receipt, SendError>> = new Array(messages.length)
        const valid: Array<{ readonly index: number; readonly wire: Readonly<Record<string, PhpValue>> }> = []
        for (const [index, message] of messages.entries()) {
          const validated = yield* Effect.either(validate(message, options.validation))
          if (Either.isLeft(validated)) outcomes[index] = Either.left(validated.left)
          else valid.push({ index, wire: validated.right.wire })
        }
        // A command's own error that did not execute (OPERATION_TIME_LIMIT inside the batch...) is sent again in a
        // later round, paced by the retry schedule; a whole batch call is retried inside `call`.
        const driver = yield* Schedule.driver(policy.schedule)
        let pending = valid
        for (let round = 0; pending.length > 0; round++) {
          const again: typeof valid = []
          for (let start = 0; start < pending.length; start += batchSize) {
            const chunk = pending.slice(start, start + batchSize)
            const cmd: Record<string, string> = {}
            for (const [position, item] of chunk.entries())
              cmd[`m${position}`] = `${messageMethod}?${httpBuildQuery(item.wire)}`
            const batch = yield* Effect.either(call("batch", { halt: 0, cmd }))
            if (Either.isLeft(batch)) {
              for (const item of chunk) outcomes[item.index] = Either.left(batch.left)
              continue
            }
            const parsed = Option.getOrUndefined(decodeBatch(batch.right.result))
            for (const [position, item] of chunk.entries()) {
              const key = `m${position}`
              const errorAnswer =
                parsed === undefined
                  ? undefined
                  : (parsed.resultError as Record<string, typeof ErrorEnvelope.Type>)[key]
              const result = parsed === undefined ? undefined : (parsed.result as Record<string, unknown>)[key]
              if (errorAnswer !== undefined) {
                const error = fromAnswer({
                  code: errorAnswer.error,
                  description: errorAnswer.errorDescription,
                  requestId: batch.right.requestId
                })
                outcomes[item.index] = Either.left(error)
                if (policy.retryWhen(error)) again.push(item)
              } else if (result !== undefined) {
                outcomes[item.index] = Either.right({
                  requestId: batch.right.requestId,
                  attempts: batch.right.attempts + round,
                  time: parsed === undefined ? undefined : (parsed.resultTime as Record<string, ResponseTime>)[key],
                  result
                })
              } else {
                outcomes[item.index] = Either.left(
                  new BadResponseError({
                    status: 200,
                    excerpt: `batch answer has no outcome for ${key}`,
                    requestId: batch.right.requestId
                  })
                )
              }
            }
          }
          if (again.length === 0 || Either.isLeft(yield* Effect.either(driver.next(undefined)))) break
          yield* Metric.incrementBy(Metric.tagged(retries, "method", messageMethod), again.length)
          pending = again
        }
        return outcomes
      })

    const join = (lineCode: string) =>
      characterLength(lineCode) === 32
        ? call("imopenlines.network.join", { CODE: lineCode })
        : Effect.fail(
            new LineCodeError({
              source: "local",
              description: "You entered an invalid code",
              field: "lineCode",
              rule: "exactly 32 characters"
            })
          )

    return { send, sendMany, join, call, host: auth.host, budget }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: OpenChannelOptions
): Layer.Layer<OpenChannel, never, HttpClient.HttpClient | RateBudget | TokenStore> =>
  Layer.effect(OpenChannel, make(options))

/**
 * The portal and credentials from the environment:
 * - `LINECAST_WEBHOOK_URL` (an incoming webhook), or
 * - `LINECAST_PORTAL_URL` (`https://<portal>/rest/`), `LINECAST_CLIENT_ID`, `LINECAST_CLIENT_SECRET`,
 *   `LINECAST_ACCESS_TOKEN`, `LINECAST_REFRESH_TOKEN`, optional `LINECAST_TOKEN_URL` (OAuth);
 * - optional `LINECAST_ALLOWED_HOSTS` (comma-separated) and `LINECAST_REQUEST_TIMEOUT` (e.g. `30 seconds`).
 * Secrets are read as `Redacted`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<OpenChannelOptions, "auth" | "timeout"> = {}
): Layer.Layer<
  OpenChannel,
  ConfigError.ConfigError | PortalAddressError,
  HttpClient.HttpClient | RateBudget | TokenStore
> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const allowedHosts = yield* Config.array(Config.string(), "LINECAST_ALLOWED_HOSTS").pipe(Config.withDefault([]))
      const timeout = yield* Config.duration("LINECAST_REQUEST_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
      const webhookUrl = yield* Config.option(Config.redacted("LINECAST_WEBHOOK_URL"))
      const auth: PortalAuth = Option.isSome(webhookUrl)
        ? yield* webhook(webhookUrl.value, { allowedHosts })
        : yield* oauthAuth({
            restUrl: yield* Config.string("LINECAST_PORTAL_URL"),
            clientId: yield* Config.string("LINECAST_CLIENT_ID"),
            clientSecret: yield* Config.redacted("LINECAST_CLIENT_SECRET"),
            tokenUrl: yield* Config.option(Config.string("LINECAST_TOKEN_URL")).pipe(Effect.map(Option.getOrUndefined)),
            initialTokens: {
              accessToken: yield* Config.redacted("LINECAST_ACCESS_TOKEN"),
              refreshToken: yield* Config.redacted("LINECAST_REFRESH_TOKEN")
            },
            allowedHosts
          })
      return layer({ ...options, auth, timeout })
    })
  )
