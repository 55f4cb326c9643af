/**
 * A Bitrix24 event as a portal POSTs it to a handler bound with `event.bind`: form-urlencoded with
 * bracketed keys (`data[FIELDS][ID]`, `auth[application_token]`), or JSON. The `auth` part holds
 * live credentials: they are kept `Redacted` and never stored.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { parseForm } from "./internal/formBody.js"

/**
 * The CRM events Linecast acts on.
 *
 * @since 0.1.0
 * @category models
 */
export const CrmEventName = Schema.Literal(
  "ONCRMDEALADD",
  "ONCRMDEALUPDATE",
  "ONCRMDEALDELETE",
  "ONCRMLEADADD",
  "ONCRMLEADUPDATE",
  "ONCRMLEADDELETE",
  "ONCRMCONTACTADD",
  "ONCRMCONTACTUPDATE",
  "ONCRMCONTACTDELETE"
)

/**
 * @since 0.1.0
 * @category models
 */
export type CrmEventName = typeof CrmEventName.Type

/**
 * @since 0.1.0
 * @category predicates
 */
export const isCrmEvent = Schema.is(CrmEventName)

const Digits = Schema.String.pipe(Schema.pattern(/^\d{1,19}$/))

/** The wire form, as PHP's `http_build_query` (or a JSON client) sends it. */
const EventWire = Schema.Struct({
  event: Schema.String.pipe(Schema.maxLength(100)),
  event_handler_id: Schema.optional(Digits),
  // Optional: ONAPPINSTALL carries other data; a CRM event without a record id is refused by `parse`.
  data: Schema.optional(
    Schema.Struct({
      FIELDS: Schema.optional(Schema.Struct({ ID: Schema.Union(Digits, Schema.Int.pipe(Schema.nonNegative())) }))
    })
  ),
  ts: Schema.Union(Digits, Schema.Int.pipe(Schema.nonNegative())),
  auth: Schema.Struct({
    application_token: Schema.String.pipe(Schema.maxLength(200)),
    domain: Schema.String.pipe(Schema.maxLength(255)),
    member_id: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
    client_endpoint: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
    server_endpoint: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
    status: Schema.optional(Schema.String.pipe(Schema.maxLength(10))),
    scope: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
    access_token: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
    refresh_token: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
    expires_in: Schema.optional(Schema.String.pipe(Schema.maxLength(20))),
    user_id: Schema.optional(Schema.String.pipe(Schema.maxLength(20)))
  })
})

/**
 * An event, parsed: the domain names, the secrets redacted.
 *
 * @since 0.1.0
 * @category models
 */
export interface CrmEvent {
  /** The event name, upper case (`ONCRMDEALADD`); unknown names are kept so they can be counted. */
  readonly event: string
  readonly handlerId: string | undefined
  /** The record's id (`data[FIELDS][ID]`). */
  readonly entityId: string
  /** When the event left the portal's queue, Unix seconds. */
  readonly ts: number
  readonly domain: string
  readonly memberId: string | undefined
  readonly applicationToken: Redacted.Redacted<string>
  /** The acting user's tokens, absent for events raised without a user. */
  readonly accessToken: Redacted.Redacted<string> | undefined
  readonly userId: string | undefined
}

/**
 * The body could not be read as an event.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedEventError extends Schema.TaggedError<MalformedEventError>()("MalformedEventError", {
  reason: Schema.String
}) {
  override get message() {
    return `Not a Bitrix24 event: ${this.reason}`
  }
}

const decodeWire = Schema.decodeUnknownEither(EventWire, { errors: "first", onExcessProperty: "ignore" })

const malformed = (reason: string) => Either.left(new MalformedEventError({ reason }))

/**
 * Reads a body by its content type, synchronously (the listener's hot path runs no Effect per
 * request). Form bodies are read as PHP reads them (nested brackets, limited depth and parameter
 * count, so a hostile body cannot make the parser work hard).
 *
 * @since 0.1.0
 * @category parsing
 */
export const decode = (body: string, contentType: string | undefined): Either.Either<CrmEvent, MalformedEventError> => {
  const type = (contentType ?? "").toLowerCase()
  let raw: unknown
  if (type.includes("application/json")) {
    try {
      raw = JSON.parse(body)
    } catch {
      return malformed("malformed JSON")
    }
  } else {
    raw = parseForm(body, { depth: 5, parameterLimit: 100 })
  }
  const decoded = decodeWire(raw)
  if (Either.isLeft(decoded)) {
    // The path and the kind of problem, never the value: it may be a token.
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    const path = issue === undefined || issue.path.length === 0 ? "the body" : issue.path.join(".")
    return malformed(`${path} ${issue?._tag === "Missing" ? "is missing" : "is not valid"}`)
  }
  const wire = decoded.right
  const event = wire.event.toUpperCase()
  const id = wire.data?.FIELDS?.ID
  if (id === undefined && isCrmEvent(event)) return malformed("a CRM event without data[FIELDS][ID]")
  return Either.right({
    event,
    handlerId: wire.event_handler_id,
    entityId: id === undefined ? "" : String(id),
    ts: Number(wire.ts),
    domain: wire.auth.domain,
    memberId: wire.auth.member_id,
    applicationToken: Redacted.make(wire.auth.application_token),
    accessToken: wire.auth.access_token === undefined ? undefined : Redacted.make(wire.auth.access_token),
    userId: wire.auth.user_id
  })
}

/**
 * `decode` as an Effect.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (body: string, contentType: string | undefined): Effect.Effect<CrmEvent, MalformedEventError> =>
  Effect.suspend(() => decode(body, contentType))

/**
 * The entity an event is about (`deal`, `lead`, `contact`), from its name.
 *
 * @since 0.1.0
 * @category accessors
 */
export const entityOf = (event: CrmEventName): "deal" | "lead" | "contact" =>
  event.includes("DEAL") ? "deal" : event.includes("LEAD") ? "lead" : "contact"
