/**
 * The HTTP endpoint for Bitrix24 event handlers. It checks an event (size, form, portal, the
 * application token in constant time, freshness), stores it in the inbox, and answers at once;
 * processing happens afterwards. Also `/healthz`, `/readyz` and `/metrics` (Prometheus text).
 *
 * Answers: 200 for a stored, repeated or ignored (unknown) event; 400 for a malformed or stale one;
 * 401 for a wrong or missing token; 403 for a portal it does not serve; 413 for an oversized body.
 * Nothing is stored for a 4xx, and no answer ever echoes a token.
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import { isCrmEvent, parse } from "./CrmEvent.js"
import { EventInbox } from "./EventInbox.js"
import { EventProcessor } from "./EventProcessor.js"
import { readBody } from "./internal/readBody.js"
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

const digest = (value: string) => createHash("sha256").update(value).digest()

/** Constant-time comparison of two secrets (of any lengths). */
const sameSecret = (given: Redacted.Redacted<string>, expected: Redacted.Redacted<string>) =>
  timingSafeEqual(digest(Redacted.value(given)), digest(Redacted.value(expected)))

// One tagged counter per outcome, made once: tagging on every request costs a new metric key each time.
const receivedBy = new Map<string, Metric.Metric.Counter<number>>()
const countReceived = (outcome: string) => {
  let counter = receivedBy.get(outcome)
  if (counter === undefined) {
    counter = Metric.tagged(received, "outcome", outcome)
    receivedBy.set(outcome, counter)
  }
  return Metric.increment(counter)
}

const answer = (outcome: string, status: number, body: Record<string, string>) =>
  Effect.as(countReceived(outcome), HttpServerResponse.unsafeJson(body, { status }))

/**
 * The listener's routes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const router = (options: ListenerOptions) => {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024
  const staleAfter = (options.staleAfterSeconds ?? 3600) * 1000
  // Tokens learnt from ONAPPINSTALL, by portal id (kept for the life of the process).
  const installed = new Map<string, Redacted.Redacted<string>>()

  const receive = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const inbox = yield* EventInbox
    const processor = yield* EventProcessor
    const body = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request), maxBodyBytes)
    if (body._tag === "TooLarge") return yield* answer("too_large", 413, { error: "body too large" })
    if (body._tag === "Broken") return yield* answer("malformed", 400, { error: "the body could not be read" })
    const parsed = yield* parse(body.text, request.headers["content-type"]).pipe(Effect.either)
    if (parsed._tag === "Left") return yield* answer("malformed", 400, { error: parsed.left.message })
    const event = parsed.right
    const portal = options.portals.find(
      (candidate) =>
        candidate.domain === event.domain && (candidate.memberId === undefined || candidate.memberId === event.memberId)
    )
    if (portal === undefined) return yield* answer("unknown_portal", 403, { error: "unknown portal" })
    const expected = portal.applicationToken ?? installed.get(portal.id)
    if (expected === undefined) {
      if (options.acceptInstall === true && event.event === "ONAPPINSTALL") {
        installed.set(portal.id, event.applicationToken)
        return yield* answer("installed", 200, { status: "installed" })
      }
      return yield* answer("forged", 401, { error: "no application token is known for this portal" })
    }
    if (!sameSecret(event.applicationToken, expected)) {
      return yield* answer("forged", 401, { error: "wrong application token" })
    }
    const now = yield* Clock.currentTimeMillis
    if (event.ts * 1000 < now - staleAfter) return yield* answer("stale", 400, { error: "stale event" })
    if (!isCrmEvent(event.event)) return yield* answer("ignored", 200, { status: "ignored" })
    const stored = yield* inbox
      .add({
        id: `${portal.id}:${event.event}:${event.entityId}:${event.ts}:${event.handlerId ?? ""}`,
        portal: portal.id,
        event: event.event,
        entityId: event.entityId,
        ts: event.ts,
        source: "online",
        receivedAt: now
      })
      .pipe(Effect.either)
    // Not stored means not acknowledged: the portal does not retry, but an operator sees the 503.
    if (stored._tag === "Left") return yield* answer("unavailable", 503, { error: "the event could not be stored" })
    if (!stored.right) return yield* answer("duplicate", 200, { status: "duplicate" })
    yield* processor.wake
    return yield* answer("stored", 200, { status: "accepted" })
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
