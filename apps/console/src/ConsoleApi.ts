/**
 * The console's JSON API under `/console/api/`: the outbox by state and filter (paged from the
 * database), one message's history and preview, dead-letter replay and purge, a recipient's weekly
 * quota, portal health and, in demo mode, the emulated inboxes. Bad ids and filters answer 4xx
 * with a message the page shows as it is.
 *
 * @since 0.1.0
 */
import { EntryNotFoundError, NotReplayableError, Outbox, type OutboxEntry, type OutboxStore } from "@linecast/delivery"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { plainReason } from "./DeadLetterReason.js"
import type { DemoInboxMessage, DemoUser } from "./DemoInbox.js"
import * as MessagePreview from "./MessagePreview.js"
import type { PortalStatus } from "./PortalStatus.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ApiOptions {
  readonly mode: "demo" | "portal"
  /** Whether a credential protects the console. */
  readonly protected: boolean
  /** The portal id filters and quota use when none is given (`default` for a single portal). */
  readonly defaultPortal?: string | undefined
  /** The open lines the page offers in its quota view. */
  readonly lineCodes?: ReadonlyArray<string> | undefined
  readonly portals?: Effect.Effect<ReadonlyArray<PortalStatus>> | undefined
  readonly demo?:
    | { readonly inbox: Effect.Effect<ReadonlyArray<DemoInboxMessage>>; readonly users: ReadonlyArray<DemoUser> }
    | undefined
}

/**
 * A request as the API reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiRequest {
  readonly method: string
  /** Below `/console/api/`, without the query. */
  readonly path: string
  readonly query: URLSearchParams
  /** The parsed JSON body (undefined without one). */
  readonly body: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ApiResponse {
  readonly status: number
  readonly body: unknown
}

const states: ReadonlyArray<OutboxEntry.DeliveryState> = ["queued", "sending", "sent", "deferred", "ambiguous", "dead"]
const pendingStates: ReadonlyArray<OutboxEntry.DeliveryState> = ["queued", "sending", "deferred", "ambiguous"]
const maxPageSize = 200
const maxSelection = 500

type ApiFailure =
  | BadRequest
  | EntryNotFoundError
  | NotReplayableError
  | OutboxStore.OutboxConflictError
  | OutboxStore.OutboxStorageError

class BadRequest {
  readonly _tag = "BadRequest"
  constructor(
    readonly status: number,
    readonly error: string,
    readonly message: string
  ) {}
}

const fail = (status: number, error: string, message: string) => Effect.fail(new BadRequest(status, error, message))

const ok = (body: unknown, status = 200): ApiResponse => ({ status, body })

/** An entry as the page shows it: everything the outbox keeps, and the reason in plain words. */
const view = (entry: OutboxEntry.OutboxEntry) => ({ ...entry, reason: plainReason(entry) })

const allowedParams = (query: URLSearchParams, allowed: ReadonlyArray<string>) => {
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      return fail(400, "bad-filter", `Unknown filter "${name}"; the filters are ${allowed.join(", ")}.`)
    }
  }
  return Effect.void
}

const integerParam = (query: URLSearchParams, name: string, range: { min: number; max: number }) => {
  const raw = query.get(name)
  if (raw === null || raw === "") return Effect.succeed(undefined)
  const value = Number(raw)
  if (!/^-?\d+$/.test(raw) || value < range.min || value > range.max) {
    return fail(400, "bad-filter", `"${name}" must be a whole number from ${range.min} to ${range.max}, not "${raw}".`)
  }
  return Effect.succeed(value)
}

const textParam = (query: URLSearchParams, name: string) => {
  const raw = query.get(name)?.trim()
  return raw === undefined || raw === "" ? undefined : raw
}

const stateParam = (query: URLSearchParams) => {
  const raw = textParam(query, "state")
  if (raw === undefined) return Effect.succeed(undefined)
  const wanted = raw.split(",").map((state) => state.trim())
  const unknown = wanted.filter((state) => !states.includes(state as OutboxEntry.DeliveryState))
  if (unknown.length > 0) {
    return fail(400, "bad-filter", `Unknown state "${unknown.join(", ")}"; the states are ${states.join(", ")}.`)
  }
  return Effect.succeed(wanted as ReadonlyArray<OutboxEntry.DeliveryState>)
}

const selection = (body: unknown) => {
  const ids = typeof body === "object" && body !== null && "ids" in body ? body.ids : undefined
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > maxSelection ||
    !ids.every((id) => typeof id === "string")
  ) {
    return fail(400, "bad-selection", `The body must be {"ids": [...]} with 1 to ${maxSelection} message ids.`)
  }
  return Effect.succeed(ids as ReadonlyArray<string>)
}

/**
 * Answers one API request.
 *
 * @since 0.1.0
 * @category handlers
 */
export const handle = (options: ApiOptions, request: ApiRequest): Effect.Effect<ApiResponse, never, Outbox.Outbox> =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.Outbox
    const defaultPortal = options.defaultPortal ?? "default"
    const segments = request.path
      .split("/")
      .filter((segment) => segment !== "")
      .map(decodeURIComponent)

    const messages = Effect.gen(function* () {
      yield* allowedParams(request.query, ["state", "portal", "line", "user", "key", "offset", "limit"])
      const query: OutboxStore.OutboxQuery = {
        state: yield* stateParam(request.query),
        portal: textParam(request.query, "portal"),
        lineCode: textParam(request.query, "line"),
        userId: yield* integerParam(request.query, "user", { min: 1, max: Number.MAX_SAFE_INTEGER }),
        idempotencyKey: textParam(request.query, "key")
      }
      const limit = (yield* integerParam(request.query, "limit", { min: 1, max: maxPageSize })) ?? 50
      const offset = (yield* integerParam(request.query, "offset", { min: 0, max: Number.MAX_SAFE_INTEGER })) ?? 0
      const [total, items] = yield* Effect.all(
        [outbox.count(query), outbox.list({ ...query, limit, offset, newestFirst: true })],
        { concurrency: 2 }
      )
      return ok({ total, offset, limit, items: items.map(view) })
    })

    const summary = Effect.gen(function* () {
      const counts = yield* Effect.forEach(states, (state) => outbox.count({ state }), { concurrency: 3 })
      return ok({ counts: Object.fromEntries(states.map((state, index) => [state, counts[index] ?? 0])) })
    })

    const message = (id: string) =>
      Effect.gen(function* () {
        const entry = yield* outbox.get(id)
        const history = yield* outbox.history(id)
        const preview = yield* MessagePreview.ofMessage(entry.message)
        return ok({ entry: view(entry), history, preview })
      })

    const replayOne = (id: string) => Effect.map(outbox.replay(id), (entry) => ok({ entry: view(entry) }))

    const replayMany = Effect.gen(function* () {
      const ids = yield* selection(request.body)
      const results = yield* Effect.forEach(ids, (id) =>
        outbox.replay(id).pipe(
          Effect.map((entry) => ({ id, ok: true as const, state: entry.state })),
          Effect.catchTags({
            EntryNotFoundError: (error) => Effect.succeed({ id, ok: false as const, message: error.message }),
            NotReplayableError: (error) => Effect.succeed({ id, ok: false as const, message: error.message }),
            OutboxConflictError: () =>
              Effect.succeed({ id, ok: false as const, message: "It changed meanwhile: look again and retry." })
          })
        )
      )
      return ok({ results })
    })

    const purge = Effect.gen(function* () {
      const ids = yield* selection(request.body)
      // Only dead letters: purging a message still on its way would lose it.
      const purged = yield* outbox.purge({ ids, state: "dead" })
      return ok({ purged, skipped: ids.length - purged })
    })

    const quota = Effect.gen(function* () {
      yield* allowedParams(request.query, ["portal", "line", "user"])
      const userId = yield* integerParam(request.query, "user", { min: 1, max: Number.MAX_SAFE_INTEGER })
      if (userId === undefined) return yield* fail(400, "bad-filter", 'The quota needs a recipient: "user".')
      const lineCode = textParam(request.query, "line") ?? options.lineCodes?.[0]
      if (lineCode === undefined) return yield* fail(400, "bad-filter", 'The quota needs an open line: "line".')
      const recipient = { portal: textParam(request.query, "portal") ?? defaultPortal, lineCode, userId }
      const [lastSentAt, nextAllowedAt, pending] = yield* Effect.all([
        outbox.lastSentAt(recipient),
        outbox.nextAllowedAt(recipient),
        outbox.list({ ...recipient, state: pendingStates, limit: 100 })
      ])
      const now = yield* Clock.currentTimeMillis
      return ok({
        recipient,
        now,
        lastSentAt: lastSentAt ?? null,
        nextAllowedAt: nextAllowedAt ?? null,
        pending: pending.map(view),
        digested: pending.filter((entry) => entry.policy === "digest").length
      })
    })

    const preview = Effect.gen(function* () {
      const params =
        typeof request.body === "object" && request.body !== null && "wire" in request.body
          ? request.body.wire
          : undefined
      if (params === undefined) {
        return yield* fail(
          400,
          "bad-preview",
          'The body must be {"wire": {"CODE": ..., "USER_ID": ..., "MESSAGE": ...}}.'
        )
      }
      return ok(yield* MessagePreview.ofWire(params))
    })

    const inboxes = Effect.gen(function* () {
      if (options.demo === undefined) {
        return yield* fail(404, "not-demo", "There are emulated inboxes only in demo mode.")
      }
      yield* allowedParams(request.query, ["user"])
      const userId = yield* integerParam(request.query, "user", { min: 1, max: Number.MAX_SAFE_INTEGER })
      const received = yield* options.demo.inbox
      const messages = received.filter((message) => userId === undefined || message.userId === userId)
      return ok({ users: options.demo.users, messages: [...messages].reverse().slice(0, 200) })
    })

    const session = Effect.map(Clock.currentTimeMillis, (now) =>
      ok({
        mode: options.mode,
        protected: options.protected,
        demo: options.demo !== undefined,
        users: options.demo?.users ?? [],
        lineCodes: options.lineCodes ?? [],
        defaultPortal,
        states,
        now
      })
    )

    const routed = (): Effect.Effect<ApiResponse, ApiFailure> => {
      const [resource, id, action] = segments
      const get = request.method.toUpperCase() === "GET"
      const post = request.method.toUpperCase() === "POST"
      switch (
        segments.length === 0 ? "" : `${get ? "GET" : post ? "POST" : request.method} ${resource}/${segments.length}`
      ) {
        case "GET session/1":
          return session
        case "GET summary/1":
          return summary
        case "GET messages/1":
          return messages
        case "GET messages/2":
          return message(id!)
        case "POST messages/2":
          if (id === "replay") return replayMany
          if (id === "purge") return purge
          break
        case "POST messages/3":
          if (action === "replay") return replayOne(id!)
          break
        case "GET quota/1":
          return quota
        case "GET portals/1":
          return Effect.map(options.portals ?? Effect.succeed([]), (portals) => ok({ portals }))
        case "POST preview/1":
          return preview
        case "GET inboxes/1":
          return inboxes
      }
      return fail(404, "not-found", `No API route ${request.method} /console/api/${segments.join("/")}.`)
    }
    const answer = routed()

    return yield* answer.pipe(
      Effect.catchAll((error) => {
        if (error instanceof BadRequest)
          return Effect.succeed({ status: error.status, body: { error: error.error, message: error.message } })
        if (error instanceof EntryNotFoundError)
          return Effect.succeed({
            status: 404,
            body: { error: "unknown-id", message: `No message with id "${error.id}".` }
          })
        if (error instanceof NotReplayableError)
          return Effect.succeed({
            status: 409,
            body: {
              error: "not-replayable",
              state: error.state,
              message: `Message "${error.id}" is ${error.state}, no longer dead: only dead or ambiguous messages can be replayed.`
            }
          })
        if (error._tag === "OutboxConflictError")
          return Effect.succeed({
            status: 409,
            body: { error: "conflict", message: "The message changed meanwhile: look again and retry." }
          })
        return Effect.succeed({
          status: 503,
          body: { error: "storage", message: `The outbox's database failed: ${error.message}` }
        })
      })
    )
  })
