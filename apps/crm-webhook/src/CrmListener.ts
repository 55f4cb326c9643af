/**
 * The HTTP endpoint for Bitrix24 event handlers. It checks an event (size, form, portal, the
 * application token in constant time, freshness), stores it in the inbox, and answers at once;
 * processing happens afterwards. Also `/healthz`, `/readyz` and `/metrics` (Prometheus text).
 *
 * Answers: 200 for a stored, repeated or ignored (unknown) event; 400 for a malformed or stale one;
 * 401 for a wrong or missing token; 403 for a portal it does not serve; 413 for an oversized body.
 * Nothing is stored for a 4xx, and no answer ever echoes a token.
 *
 * Two ways to mount it, with the same checks and guarantees: `router`, an `@effect/platform` router,
 * and `handler`, a node:http request listener that answers events with no Effect per request (the
 * fast path; its other routes go to the router). Either way an event is answered 200 only after its
 * inbox row is committed.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import type * as Redacted from "effect/Redacted"
import { EventInbox } from "./EventInbox.js"
import { EventProcessor, processed } from "./EventProcessor.js"
import * as Reception from "./internal/Reception.js"
import { readBody, readBodyCallback } from "./internal/readBody.js"
import { prometheusText } from "./PrometheusMetrics.js"

/**
 * A portal the listener serves: where its events come from and the token that proves them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenedPortal {
  /** The delivery portal id. */
  readonly id: string
  /** `auth[domain]` of its events. */
  readonly domain: string
  /** `auth[member_id]`, checked when given. */
  readonly memberId?: string | undefined
  /**
   * The installation's `application_token`. When absent, and `acceptInstall` is on, the first
   * `ONAPPINSTALL` event from the portal sets it (trust on first use).
   */
  readonly applicationToken?: Redacted.Redacted<string> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListenerOptions {
  readonly portals: ReadonlyArray<ListenedPortal>
  /** The path events are POSTed to. Default `/bitrix/events`. */
  readonly path?: `/${string}` | undefined
  /** Larger bodies are refused with 413. Default 64 KiB (a real event is well under 2 KiB). */
  readonly maxBodyBytes?: number | undefined
  /** Events whose `ts` is older than this are refused as stale. Default 1 hour. */
  readonly staleAfterSeconds?: number | undefined
  /** Let `ONAPPINSTALL` set the token of a portal that has none yet. Default false. */
  readonly acceptInstall?: boolean | undefined
  /** Optional check of the portal for `/readyz` (e.g. a `server.time` call). */
  readonly portalCheck?: Effect.Effect<void, unknown> | undefined
}

/**
 * Events received, by outcome (`stored`, `duplicate`, `ignored`, `malformed`, `forged`, `unknown_portal`, `stale`, `too_large`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const received = Metric.counter("linecast_crm_events_received", {
  description: "CRM events received, by outcome"
})

const toResponse = (answer: Reception.Answer) =>
  HttpServerResponse.text(answer.body, { status: answer.status, contentType: "application/json" })

const receptionOf = (options: ListenerOptions) =>
  Reception.make({
    portals: options.portals,
    staleAfterSeconds: options.staleAfterSeconds,
    acceptInstall: options.acceptInstall,
    received,
    processed
  })

const routes = (options: ListenerOptions, reception: Reception.Reception) => {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024

  const receive = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const inbox = yield* EventInbox
    const processor = yield* EventProcessor
    const body = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request), maxBodyBytes)
    const now = yield* Clock.currentTimeMillis
    const verdict = reception.check(body, request.headers["content-type"], now, processor.wants)
    let answer: Reception.Answer
    if (verdict._tag === "Answer") answer = verdict.answer
    else {
      const stored = yield* Effect.either(inbox.add(verdict.event))
      // Not stored means not acknowledged: the portal does not retry, but an operator sees the 503.
      answer = Reception.afterStore(verdict.event, stored._tag === "Left" ? undefined : stored.right)
    }
    reception.count(answer)
    return toResponse(answer)
  })
  const ready = Effect.gen(function* () {
    const inbox = yield* EventInbox
    const database = yield* Effect.either(inbox.ping)
    const portal = options.portalCheck === undefined ? undefined : yield* Effect.either(options.portalCheck)
    const ok = database._tag === "Right" && (portal === undefined || portal._tag === "Right")
    return HttpServerResponse.unsafeJson(
      {
        database: database._tag === "Right" ? "ok" : "down",
        portal: portal === undefined ? "unchecked" : portal._tag === "Right" ? "ok" : "down"
      },
      { status: ok ? 200 : 503 }
    )
  })

  return HttpRouter.empty.pipe(
    HttpRouter.post((options.path ?? "/bitrix/events") as HttpRouter.PathInput, receive),
    HttpRouter.get("/healthz", Effect.succeed(HttpServerResponse.unsafeJson({ status: "ok" }))),
    HttpRouter.get("/readyz", ready),
    HttpRouter.get(
      "/metrics",
      Effect.sync(() => HttpServerResponse.text(prometheusText(), { contentType: "text/plain; version=0.0.4" }))
    )
  )
}

/**
 * The listener's routes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const router = (options: ListenerOptions) => routes(options, receptionOf(options))

/**
 * A node:http request listener (for `http.createServer`, or mounted by `@linecast/node`): events
 * POSTed to `path` are read, checked and committed with no Effect per request, which keeps the
 * listener within a small factor of a bare handler; every other request goes to `router`'s routes.
 * Needs the `EventInbox` and the `EventProcessor` for as long as it serves.
 *
 * @since 0.1.0
 * @category constructors
 */
export const handler = (
  options: ListenerOptions
): Effect.Effect<(request: IncomingMessage, response: ServerResponse) => void, never, EventInbox | EventProcessor> =>
  Effect.gen(function* () {
    const inbox = yield* EventInbox
    const processor = yield* EventProcessor
    const reception = receptionOf(options)
    const others = yield* NodeHttpServer.makeHandler(routes(options, reception))
    const path = options.path ?? "/bitrix/events"
    const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024

    const reply = (response: ServerResponse, answer: Reception.Answer) => {
      reception.count(answer)
      response.writeHead(answer.status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(answer.body)
      })
      response.end(answer.body)
    }

    return (request, response) => {
      const url = request.url ?? "/"
      const query = url.indexOf("?")
      if (request.method !== "POST" || (query === -1 ? url : url.slice(0, query)) !== path) {
        return others(request, response)
      }
      readBodyCallback(request, maxBodyBytes, (body) => {
        const verdict = reception.check(body, request.headers["content-type"], Date.now(), processor.wants)
        if (verdict._tag === "Answer") return reply(response, verdict.answer)
        inbox.unsafeAdd(verdict.event, (exit) =>
          reply(response, Reception.afterStore(verdict.event, Exit.isFailure(exit) ? undefined : exit.value))
        )
      })
    }
  })
