import type { Socket } from "node:net"
/**
 * The emulator's HTTP surface: REST as real portals route it, and the control API under the
 * reserved `/_emulator/` prefix.
 */

import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { CrmEntity } from "../Crm.js"
import type { Emulator } from "../Emulator.js"
import { defaultPortalId } from "../Emulator.js"
import { FaultOptions } from "../Faults.js"
import { OAuthAppOptions } from "../OAuthApp.js"
import { BucketOptions, LineOptions, OperatingOptions, PortalOptions, UserOptions, WebhookOptions } from "../Portal.js"
import { handleOAuthToken } from "./oauthToken.js"
import { readParams } from "./requestParams.js"
import type { Credentials } from "./rest.js"
import { handleRest } from "./rest.js"
import { systemErrors } from "./restError.js"

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const restPath = /^\/(?:p\/([a-z0-9][a-z0-9-]*)\/)?rest\/(.*)$/

const credentialsOf = (segments: ReadonlyArray<string>): { credentials: Credentials; method: string } | undefined => {
  if (segments.length === 1 && segments[0] !== "") return { credentials: { kind: "request" }, method: segments[0]! }
  if (segments.length === 3 && segments[2] !== "") {
    return { credentials: { kind: "webhook", userId: segments[0]!, code: segments[1]! }, method: segments[2]! }
  }
  return undefined
}

const rest = (emulator: Emulator, maxBodyBytes: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = decodeURIComponent(request.url.split("?")[0] ?? "")
    const match = restPath.exec(path)
    const host = (request.headers.host ?? "").replace(/:\d+$/, "")
    const portal =
      match?.[1] !== undefined
        ? emulator.findPortal(match[1])
        : (emulator.findPortalByDomain(host) ?? emulator.findPortal(defaultPortalId))
    if (match === null || portal === undefined) {
      return json({ error: "EMULATOR_PORTAL_NOT_FOUND", error_description: "No such portal on this emulator" }, 404)
    }
    const target = credentialsOf(match[2]!.split("/"))
    const params = yield* readParams(request, maxBodyBytes).pipe(Effect.either)
    if (params._tag === "Left") return json(params.left.body(), params.left.status)
    if (target === undefined) {
      const error = systemErrors.methodNotFound()
      return json(error.body(), error.status)
    }
    const fault = portal.faults.decide()
    if (fault.delayMs > 0) yield* Effect.sleep(fault.delayMs)
    const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
    switch (fault.kind) {
      case "reset":
        // A TLS socket cannot send a TCP reset itself (Node refuses): reset the TCP socket under it.
        resetOf(socket)
        return json({}, 500)
      case "serverError":
        return json(portal.faults.serverErrorBody, portal.faults.serverErrorStatus)
      case "hang":
        yield* Effect.sleep(portal.faults.hangMs)
        socket.destroy()
        return json({}, 504)
    }
    const answer = handleRest({
      portal,
      method: target.method,
      credentials: target.credentials,
      params: params.right,
      cookie: request.headers.cookie,
      authorization: request.headers.authorization,
      https: "encrypted" in socket,
      now: emulator.clock.now(),
      random: Math.random
    })
    // Accepted, then the answer is lost: the caller cannot tell whether the write happened.
    if (fault.kind === "lostAnswer") socket.destroy()
    return json(answer.body, answer.status)
  })

const oauthToken = (emulator: Emulator, maxBodyBytes: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* readParams(request, maxBodyBytes).pipe(Effect.either)
    if (params._tag === "Left") return json(params.left.body(), params.left.status)
    const answer = handleOAuthToken(emulator, params.right)
    return json(answer.body, answer.status)
  })

const ClockChange = Schema.Struct({
  advanceMs: Schema.optional(Schema.Number),
  advanceSeconds: Schema.optional(Schema.Number),
  set: Schema.optional(Schema.Union(Schema.Number, Schema.DateFromString)),
  freeze: Schema.optional(Schema.Boolean)
})

const PortalPatch = Schema.Struct({
  nfr: Schema.optional(Schema.Boolean),
  imbotInstalled: Schema.optional(Schema.Boolean),
  bucket: Schema.optional(BucketOptions),
  operating: Schema.optional(OperatingOptions),
  weeklyWindowSeconds: Schema.optional(Schema.Number),
  attachMaxCharacters: Schema.optional(Schema.Int),
  utcOffsetMinutes: Schema.optional(Schema.Int),
  faults: Schema.optional(FaultOptions),
  switches: PortalOptions.fields.switches
})

const LinePatch = Schema.Struct({
  joined: Schema.optional(Schema.Boolean),
  blacklisted: Schema.optional(Schema.Boolean)
})

const TokenRequest = Schema.Struct({
  userId: Schema.Int,
  clientId: Schema.optional(Schema.String),
  scopes: Schema.optional(Schema.Array(Schema.String)),
  lifetimeSeconds: Schema.optional(Schema.Number)
})

/** A control request that names something that is not there, or asks for something impossible. */
class ControlError extends Schema.TaggedError<ControlError>()("ControlError", {
  status: Schema.Literal(400, 404),
  message: Schema.String
}) {}

const CrmChange = Schema.Struct({
  fields: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** The acting user; without one, the events carry no tokens. */
  userId: Schema.optional(Schema.Int)
})

const crmEntityParam = Effect.flatMap(HttpRouter.params, ({ entity }) =>
  entity === "deal" || entity === "contact" || entity === "lead"
    ? Effect.succeed(entity as CrmEntity)
    : Effect.fail(new ControlError({ status: 404, message: `No CRM entity "${entity}"` }))
)

const clockState = (emulator: Emulator) => {
  const now = emulator.clock.now()
  return { now, iso: new Date(now).toISOString(), frozen: emulator.clock.frozen() }
}

const attempt = <A>(thunk: () => A) =>
  Effect.try({
    try: thunk,
    catch: (cause) => new ControlError({ status: 400, message: String((cause as Error).message) })
  })

/** The portal named by the route's `:portal`, or a 404. */
const portalOf = (emulator: Emulator) =>
  Effect.flatMap(HttpRouter.params, (params) => {
    const portal = emulator.findPortal(params.portal ?? defaultPortalId)
    return portal === undefined
      ? Effect.fail(new ControlError({ status: 404, message: `No portal with id "${params.portal}"` }))
      : Effect.succeed(portal)
  })

const body = <A, I>(schema: Schema.Schema<A, I>) => HttpServerRequest.schemaBodyJson(schema)

const control = (emulator: Emulator) => {
  const portalParam = portalOf(emulator)
  return HttpRouter.empty.pipe(
    HttpRouter.get("/_emulator/health", Effect.succeed(json({ ok: true }))),
    HttpRouter.get(
      "/_emulator/portals",
      Effect.sync(() => json(emulator.portals().map((portal) => emulator.info(portal.id))))
    ),
    HttpRouter.post(
      "/_emulator/portals",
      body(PortalOptions).pipe(
        Effect.flatMap((options) => attempt(() => emulator.createPortal(options))),
        Effect.map((info) => json(info, 201))
      )
    ),
    HttpRouter.get(
      "/_emulator/portals/:portal",
      Effect.map(portalParam, (portal) => json(emulator.info(portal.id)))
    ),
    HttpRouter.patch(
      "/_emulator/portals/:portal",
      Effect.zipWith(portalParam, body(PortalPatch), (portal, patch) => json(emulator.configure(portal.id, patch)))
    ),
    HttpRouter.post(
      "/_emulator/portals/:portal/users",
      Effect.zipWith(portalParam, body(UserOptions), (portal, user) => json(portal.addUser(user), 201))
    ),
    HttpRouter.post(
      "/_emulator/portals/:portal/webhooks",
      Effect.zipWith(portalParam, body(WebhookOptions), (portal, options) => {
        const webhook = portal.addWebhook(options)
        const url = emulator.info(portal.id).webhookUrls.find((candidate) => candidate.includes(`/${webhook.code}/`))
        return json({ ...webhook, url }, 201)
      })
    ),
    HttpRouter.post(
      "/_emulator/portals/:portal/lines",
      Effect.zipWith(portalParam, body(LineOptions), (portal, options) => json(portal.addLine(options), 201))
    ),
    HttpRouter.patch(
      "/_emulator/portals/:portal/lines/:code",
      Effect.gen(function* () {
        const portal = yield* portalParam
        const { code } = yield* HttpRouter.params
        const patch = yield* body(LinePatch)
        const line = portal.lines.get(code ?? "")
        if (line === undefined) return yield* new ControlError({ status: 404, message: `No line with code "${code}"` })
        if (patch.joined !== undefined) line.joined = patch.joined
        if (patch.blacklisted !== undefined) line.blacklisted = patch.blacklisted
        return json(line)
      })
    ),
    HttpRouter.post(
      "/_emulator/portals/:portal/tokens",
      Effect.zipWith(portalParam, body(TokenRequest), (portal, options) =>
        json(portal.issueToken(options, emulator.clock.now()), 201)
      )
    ),
    HttpRouter.post(
      "/_emulator/apps",
      body(OAuthAppOptions).pipe(
        Effect.flatMap((options) => attempt(() => emulator.createApp(options))),
        Effect.map((app) => json(app, 201))
      )
    ),
    HttpRouter.post(
      "/_emulator/portals/:portal/installations",
      Effect.gen(function* () {
        const portal = yield* portalParam
        const { clientId, userId } = yield* body(
          Schema.Struct({ clientId: Schema.String, userId: Schema.optional(Schema.Int) })
        )
        return json(yield* attempt(() => emulator.installApp(portal.id, clientId, userId)), 201)
      })
    ),
    HttpRouter.post(
      "/_emulator/portals/:portal/sessions",
      Effect.zipWith(portalParam, body(Schema.Struct({ userId: Schema.Int })), (portal, { userId }) =>
        json(portal.openSession(userId), 201)
      )
    ),
    HttpRouter.get(
      "/_emulator/portals/:portal/inbox",
      Effect.gen(function* () {
        const portal = yield* portalParam
        const { userId } = yield* HttpServerRequest.schemaSearchParams(
          Schema.Struct({ userId: Schema.optional(Schema.NumberFromString) })
        )
        return json(emulator.inbox(portal.id, userId))
      })
    ),
    HttpRouter.get(
      "/_emulator/portals/:portal/counters",
      Effect.map(portalParam, (portal) => json(emulator.counters(portal.id)))
    ),
    HttpRouter.post(
      "/_emulator/reset",
      Effect.sync(() => {
        emulator.reset()
        return json({ ok: true })
      })
    ),
    HttpRouter.get(
      "/_emulator/clock",
      Effect.sync(() => json(clockState(emulator)))
    ),
    HttpRouter.post(
      "/_emulator/clock",
      Effect.map(body(ClockChange), (change) => {
        if (change.freeze === true) emulator.clock.freeze()
        if (change.freeze === false) emulator.clock.resume()
        if (change.set !== undefined)
          emulator.clock.set(typeof change.set === "number" ? change.set : change.set.getTime())
        if (change.advanceMs !== undefined) emulator.clock.advance(change.advanceMs)
        if (change.advanceSeconds !== undefined) emulator.clock.advance(change.advanceSeconds * 1000)
        return json(clockState(emulator))
      })
    )
  )
}

/** CRM records through the control API: changes made here raise events with no user (no tokens). */
const crmControl = (emulator: Emulator) => {
  const portalParam = portalOf(emulator)
  return HttpRouter.empty.pipe(
    HttpRouter.post(
      "/_emulator/portals/:portal/crm/:entity",
      Effect.gen(function* () {
        const portal = yield* portalParam
        const entity = yield* crmEntityParam
        const { fields, userId } = yield* body(CrmChange)
        const id = portal.crm.add(entity, fields, userId)
        return json({ id, fields: portal.crm.get(entity, id) }, 201)
      })
    ),
    HttpRouter.patch(
      "/_emulator/portals/:portal/crm/:entity/:id",
      Effect.gen(function* () {
        const portal = yield* portalParam
        const entity = yield* crmEntityParam
        const { id } = yield* HttpRouter.params
        const { fields, userId } = yield* body(CrmChange)
        if (!portal.crm.update(entity, id ?? "", fields, userId)) {
          return yield* new ControlError({ status: 404, message: `No ${entity} ${id}` })
        }
        return json({ id, fields: portal.crm.get(entity, id ?? "") })
      })
    ),
    HttpRouter.del(
      "/_emulator/portals/:portal/crm/:entity/:id",
      Effect.gen(function* () {
        const portal = yield* portalParam
        const entity = yield* crmEntityParam
        const { id } = yield* HttpRouter.params
        if (!portal.crm.delete(entity, id ?? ""))
          return yield* new ControlError({ status: 404, message: `No ${entity} ${id}` })
        return json({ id, deleted: true })
      })
    )
  )
}

/**
 * The whole HTTP app of one emulator; it answers every request, unknown paths with a JSON 404.
 * The router is built once, when the app is made.
 */
/** Sends a TCP reset; under TLS, on the TCP socket the TLS socket wraps. */
const resetOf = (socket: Socket): void => {
  const tcp = (socket as Socket & { readonly _parent?: Socket | null })._parent ?? socket
  if (typeof tcp.resetAndDestroy === "function" && tcp.constructor.name === "Socket") tcp.resetAndDestroy()
  else socket.destroy()
}

export const makeHttpApp = (emulator: Emulator, options: { readonly maxBodyBytes: number }) => {
  const restHandler = rest(emulator, options.maxBodyBytes)
  const router = HttpRouter.empty.pipe(
    HttpRouter.all("/rest/*", restHandler),
    HttpRouter.all("/p/:portal/rest/*", restHandler),
    HttpRouter.all("/oauth/token/", oauthToken(emulator, options.maxBodyBytes)),
    HttpRouter.concat(control(emulator)),
    HttpRouter.concat(crmControl(emulator))
  )
  return Effect.map(HttpRouter.toHttpApp(router), (app) =>
    app.pipe(
      Effect.catchAll((error) => {
        switch (error._tag) {
          case "RouteNotFound":
            return Effect.succeed(json({ error: "EMULATOR_NOT_FOUND", error_description: "No such route" }, 404))
          case "ControlError":
            return Effect.succeed(
              json({ error: "EMULATOR_BAD_REQUEST", error_description: error.message }, error.status)
            )
          default:
            return Effect.succeed(json({ error: "EMULATOR_BAD_REQUEST", error_description: error.message }, 400))
        }
      }),
      // A defect is the emulator's own bug: answer it rather than drop the connection.
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logError("portal emulator defect", cause), json(systemErrors.internal().body(), 500))
      )
    )
  )
}
