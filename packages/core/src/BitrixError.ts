/**
 * Every error a caller of `imopenlines.network.message.add` can meet, as a `Schema.TaggedError`:
 * one per method error code and per system error code of the REST server, the transport's own
 * failures, and `UnknownBitrixError` for any code not listed. Each says what to do about it through
 * its `errorClass`. Codes are compared exactly, never descriptions; no error holds a secret.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * What a caller can do about an error:
 * - `retryable`: the request did not execute; send it again after a pause.
 * - `rateLimited`: refused by the portal's bucket or operating-time limit before it ran; wait, then send again.
 * - `auth`: credentials are missing, wrong, expired or lack a scope; fix them (an expired token is refreshed for you).
 * - `quota`: the recipient's weekly message is spent; wait until `nextAllowedAt` when known.
 * - `permanent`: the request is wrong or the portal cannot serve it; do not send it again as is.
 * - `ambiguous`: the request may have executed (a timeout or a reset after the body was sent, a 5xx of a write);
 *   never resend blindly, reconcile first.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorClass = "retryable" | "rateLimited" | "auth" | "quota" | "permanent" | "ambiguous"

/**
 * Whether an error of this class is known not to have executed, so that sending again cannot duplicate.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSafeToRetry = (errorClass: ErrorClass): boolean =>
  errorClass === "retryable" || errorClass === "rateLimited"

const Source = Schema.Literal("server", "local")

/** Fields every error answer of the server carries, plus where core saw it. */
const answerFields = {
  /** `error_description` as the server wrote it (or core's own text for a local check); for logs only. */
  description: Schema.String,
  /** The HTTP status of the answer; absent when core refused the message before any request. */
  status: Schema.optional(Schema.Number),
  /** `server`: the portal answered it; `local`: core refused the message before sending. */
  source: Source,
  /** The request id core gave the call, when there was one. */
  requestId: Schema.optional(Schema.String)
}

/** Local checks also name the field and the rule that failed. */
const validationFields = {
  ...answerFields,
  field: Schema.optional(Schema.String),
  rule: Schema.optional(Schema.String)
}

const describe = (
  code: string,
  self: { readonly description: string; readonly status?: number | undefined; readonly source: string }
) =>
  `${code}${self.status === undefined ? "" : ` (HTTP ${self.status})`}${self.source === "local" ? " [refused locally]" : ""}: ${self.description}`

// ---------------------------------------------------------------------------------------------
// Method errors of imopenlines.network.message.add, in the order the server checks them
// ---------------------------------------------------------------------------------------------

/**
 * `WRONG_AUTH_TYPE` (403): the method refuses browser-session auth.
 *
 * @since 0.1.0
 * @category errors
 */
export class WrongAuthTypeError extends Schema.TaggedError<WrongAuthTypeError>()("WrongAuthTypeError", answerFields) {
  static readonly code = "WRONG_AUTH_TYPE"
  readonly code = "WRONG_AUTH_TYPE"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `CODE` (400): the line code is missing or not exactly 32 characters.
 *
 * @since 0.1.0
 * @category errors
 */
export class LineCodeError extends Schema.TaggedError<LineCodeError>()("LineCodeError", validationFields) {
  static readonly code = "CODE"
  readonly code = "CODE"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `IMBOT_ERROR` (400): the portal lacks the imbot module.
 *
 * @since 0.1.0
 * @category errors
 */
export class ImbotMissingError extends Schema.TaggedError<ImbotMissingError>()("ImbotMissingError", answerFields) {
  static readonly code = "IMBOT_ERROR"
  readonly code = "IMBOT_ERROR"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `NOT_FOUND` (400): no network line with this code was joined on the portal, or it is blacklisted.
 *
 * @since 0.1.0
 * @category errors
 */
export class LineNotFoundError extends Schema.TaggedError<LineNotFoundError>()("LineNotFoundError", answerFields) {
  static readonly code = "NOT_FOUND"
  readonly code = "NOT_FOUND"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `USER_ID_EMPTY` (400): the recipient id casts to 0.
 *
 * @since 0.1.0
 * @category errors
 */
export class UserIdEmptyError extends Schema.TaggedError<UserIdEmptyError>()("UserIdEmptyError", validationFields) {
  static readonly code = "USER_ID_EMPTY"
  readonly code = "USER_ID_EMPTY"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `USER_MESSAGE_LIMIT` (400): this line already wrote to this user in the last 7 × 24 h. The server does
 * not say when; `nextAllowedAt` (Unix ms) is set when the caller's ledger knows it.
 *
 * @since 0.1.0
 * @category errors
 */
export class UserMessageLimitError extends Schema.TaggedError<UserMessageLimitError>()("UserMessageLimitError", {
  ...answerFields,
  nextAllowedAt: Schema.optional(Schema.Number)
}) {
  static readonly code = "USER_MESSAGE_LIMIT"
  readonly code = "USER_MESSAGE_LIMIT"
  readonly errorClass: ErrorClass = "quota"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `MESSAGE_EMPTY` (400): the text is empty after PHP's trim.
 *
 * @since 0.1.0
 * @category errors
 */
export class MessageEmptyError extends Schema.TaggedError<MessageEmptyError>()("MessageEmptyError", validationFields) {
  static readonly code = "MESSAGE_EMPTY"
  readonly code = "MESSAGE_EMPTY"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ATTACH_OVERSIZE` (400): the normalised attachment's JSON reaches the limit (60,000 characters).
 * A local refusal carries the measured `size` and the `limit`.
 *
 * @since 0.1.0
 * @category errors
 */
export class AttachOversizeError extends Schema.TaggedError<AttachOversizeError>()("AttachOversizeError", {
  ...validationFields,
  size: Schema.optional(Schema.Number),
  limit: Schema.optional(Schema.Number)
}) {
  static readonly code = "ATTACH_OVERSIZE"
  readonly code = "ATTACH_OVERSIZE"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ATTACH_ERROR` (400): the attachment is not an array/object, or no valid block is left.
 *
 * @since 0.1.0
 * @category errors
 */
export class AttachError extends Schema.TaggedError<AttachError>()("AttachError", validationFields) {
  static readonly code = "ATTACH_ERROR"
  readonly code = "ATTACH_ERROR"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `KEYBOARD_ERROR` (400): the keyboard is not an array/object, or no valid button is left.
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyboardError extends Schema.TaggedError<KeyboardError>()("KeyboardError", validationFields) {
  static readonly code = "KEYBOARD_ERROR"
  readonly code = "KEYBOARD_ERROR"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `WRONG_REQUEST` (400): the server could not add the message (for example, the user does not exist).
 *
 * @since 0.1.0
 * @category errors
 */
export class WrongRequestError extends Schema.TaggedError<WrongRequestError>()("WrongRequestError", answerFields) {
  static readonly code = "WRONG_REQUEST"
  readonly code = "WRONG_REQUEST"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * A typed message whose values break the schema (a width of 0, a colour that is not hex...): refused
 * before any request, naming the field and the rule. Not a server code: the server would silently drop
 * such a value or fail with another code.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidMessageError extends Schema.TaggedError<InvalidMessageError>()("InvalidMessageError", {
  field: Schema.String,
  rule: Schema.String
}) {
  readonly code = "INVALID_MESSAGE"
  readonly errorClass: ErrorClass = "permanent"
  readonly source = "local" as const
  override get message() {
    return `INVALID_MESSAGE [refused locally]: ${this.field}: ${this.rule}`
  }
}

// ---------------------------------------------------------------------------------------------
// System errors (any method)
// ---------------------------------------------------------------------------------------------

/**
 * `INTERNAL_SERVER_ERROR` (500). For a write it may have executed: `ambiguous`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalServerError extends Schema.TaggedError<InternalServerError>()(
  "InternalServerError",
  answerFields
) {
  static readonly code = "INTERNAL_SERVER_ERROR"
  readonly code = "INTERNAL_SERVER_ERROR"
  readonly errorClass: ErrorClass = "ambiguous"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ERROR_UNEXPECTED_ANSWER` (500): the server produced an unexpected response; the write may have run.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedAnswerError extends Schema.TaggedError<UnexpectedAnswerError>()(
  "UnexpectedAnswerError",
  answerFields
) {
  static readonly code = "ERROR_UNEXPECTED_ANSWER"
  readonly code = "ERROR_UNEXPECTED_ANSWER"
  readonly errorClass: ErrorClass = "ambiguous"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `QUERY_LIMIT_EXCEEDED` (503): refused by the portal's leaky bucket before the method ran.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryLimitExceededError extends Schema.TaggedError<QueryLimitExceededError>()("QueryLimitExceededError", {
  ...answerFields,
  /** Milliseconds to wait, when core can tell (the server sends no `Retry-After`). */
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  static readonly code = "QUERY_LIMIT_EXCEEDED"
  readonly code = "QUERY_LIMIT_EXCEEDED"
  readonly errorClass: ErrorClass = "rateLimited"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `OPERATION_TIME_LIMIT` (429): the method used its operating-time budget; refused before it ran.
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationTimeLimitError extends Schema.TaggedError<OperationTimeLimitError>()("OperationTimeLimitError", {
  ...answerFields,
  /** Milliseconds to wait, when core knows the portal's `operating_reset_at`. */
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  static readonly code = "OPERATION_TIME_LIMIT"
  readonly code = "OPERATION_TIME_LIMIT"
  readonly errorClass: ErrorClass = "rateLimited"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `NO_AUTH_FOUND` (401): neither a webhook code nor an access token.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoAuthFoundError extends Schema.TaggedError<NoAuthFoundError>()("NoAuthFoundError", answerFields) {
  static readonly code = "NO_AUTH_FOUND"
  readonly code = "NO_AUTH_FOUND"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `INVALID_REQUEST` (401): HTTPS required.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpsRequiredError extends Schema.TaggedError<HttpsRequiredError>()("HttpsRequiredError", answerFields) {
  static readonly code = "INVALID_REQUEST"
  readonly code = "INVALID_REQUEST"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `OVERLOAD_LIMIT` (401): REST blocked for the portal by hand; only support lifts it.
 *
 * @since 0.1.0
 * @category errors
 */
export class OverloadLimitError extends Schema.TaggedError<OverloadLimitError>()("OverloadLimitError", answerFields) {
  static readonly code = "OVERLOAD_LIMIT"
  readonly code = "OVERLOAD_LIMIT"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ACCESS_DENIED` (401): REST is not available on the portal's plan.
 *
 * @since 0.1.0
 * @category errors
 */
export class AccessDeniedError extends Schema.TaggedError<AccessDeniedError>()("AccessDeniedError", answerFields) {
  static readonly code = "ACCESS_DENIED"
  readonly code = "ACCESS_DENIED"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `INVALID_CREDENTIALS` (401): no active webhook with this user id and code.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCredentialsError extends Schema.TaggedError<InvalidCredentialsError>()(
  "InvalidCredentialsError",
  answerFields
) {
  static readonly code = "INVALID_CREDENTIALS"
  readonly code = "INVALID_CREDENTIALS"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ERROR_METHOD_NOT_FOUND` (404): unknown method.
 *
 * @since 0.1.0
 * @category errors
 */
export class MethodNotFoundError extends Schema.TaggedError<MethodNotFoundError>()(
  "MethodNotFoundError",
  answerFields
) {
  static readonly code = "ERROR_METHOD_NOT_FOUND"
  readonly code = "ERROR_METHOD_NOT_FOUND"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `insufficient_scope` (401): the webhook or the token lacks the `imopenlines` scope.
 *
 * @since 0.1.0
 * @category errors
 */
export class InsufficientScopeError extends Schema.TaggedError<InsufficientScopeError>()(
  "InsufficientScopeError",
  answerFields
) {
  static readonly code = "insufficient_scope"
  readonly code = "insufficient_scope"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `expired_token` (401): the OAuth access token expired. `OpenChannel` refreshes it and retries once
 * before this reaches a caller.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExpiredTokenError extends Schema.TaggedError<ExpiredTokenError>()("ExpiredTokenError", answerFields) {
  static readonly code = "expired_token"
  readonly code = "expired_token"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `invalid_token` (401): the access token is unknown to the portal.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTokenError extends Schema.TaggedError<InvalidTokenError>()("InvalidTokenError", answerFields) {
  static readonly code = "invalid_token"
  readonly code = "invalid_token"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `user_access_error` (401): the application is restricted to other users.
 *
 * @since 0.1.0
 * @category errors
 */
export class UserAccessError extends Schema.TaggedError<UserAccessError>()("UserAccessError", answerFields) {
  static readonly code = "user_access_error"
  readonly code = "user_access_error"
  readonly errorClass: ErrorClass = "auth"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `PORTAL_DELETED` (403): the portal is gone, or its public part is closed.
 *
 * @since 0.1.0
 * @category errors
 */
export class PortalDeletedError extends Schema.TaggedError<PortalDeletedError>()("PortalDeletedError", answerFields) {
  static readonly code = "PORTAL_DELETED"
  readonly code = "PORTAL_DELETED"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ERROR_BATCH_LENGTH_EXCEEDED` (per command in a batch): past the 50th command; it did not run.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchLengthExceededError extends Schema.TaggedError<BatchLengthExceededError>()(
  "BatchLengthExceededError",
  answerFields
) {
  static readonly code = "ERROR_BATCH_LENGTH_EXCEEDED"
  readonly code = "ERROR_BATCH_LENGTH_EXCEEDED"
  readonly errorClass: ErrorClass = "retryable"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ERROR_BATCH_METHOD_NOT_ALLOWED` (per command in a batch).
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchMethodNotAllowedError extends Schema.TaggedError<BatchMethodNotAllowedError>()(
  "BatchMethodNotAllowedError",
  answerFields
) {
  static readonly code = "ERROR_BATCH_METHOD_NOT_ALLOWED"
  readonly code = "ERROR_BATCH_METHOD_NOT_ALLOWED"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * `ERROR_MANIFEST_IS_NOT_AVAILABLE`: met in practice; the application's manifest is unavailable.
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestNotAvailableError extends Schema.TaggedError<ManifestNotAvailableError>()(
  "ManifestNotAvailableError",
  answerFields
) {
  static readonly code = "ERROR_MANIFEST_IS_NOT_AVAILABLE"
  readonly code = "ERROR_MANIFEST_IS_NOT_AVAILABLE"
  readonly errorClass: ErrorClass = "permanent"
  override get message() {
    return describe(this.code, this)
  }
}

/**
 * Any error code not listed above, kept as the server wrote it. Its class follows the HTTP status:
 * 5xx `ambiguous`, 401/403 `auth`, anything else `permanent`.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownBitrixError extends Schema.TaggedError<UnknownBitrixError>()("UnknownBitrixError", {
  ...answerFields,
  code: Schema.String
}) {
  get errorClass(): ErrorClass {
    if (this.status !== undefined && this.status >= 500) return "ambiguous"
    if (this.status === 401 || this.status === 403) return "auth"
    return "permanent"
  }
  override get message() {
    return describe(this.code, this)
  }
}

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

/**
 * No answer within the timeout after the request was sent: it may have executed.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTimeoutError extends Schema.TaggedError<RequestTimeoutError>()("RequestTimeoutError", {
  timeoutMillis: Schema.Number,
  requestId: Schema.optional(Schema.String)
}) {
  readonly code = "TIMEOUT"
  readonly errorClass: ErrorClass = "ambiguous"
  override get message() {
    return `TIMEOUT: no answer within ${this.timeoutMillis} ms; the request may have executed`
  }
}

/**
 * The portal refused the connection (or its name did not resolve): nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionRefusedError extends Schema.TaggedError<ConnectionRefusedError>()("ConnectionRefusedError", {
  /** The system's error code (`ECONNREFUSED`, `ENOTFOUND`...). */
  reason: Schema.String,
  requestId: Schema.optional(Schema.String)
}) {
  readonly code = "CONNECTION_REFUSED"
  readonly errorClass: ErrorClass = "retryable"
  override get message() {
    return `CONNECTION_REFUSED (${this.reason}): nothing was sent`
  }
}

/**
 * The connection broke before a whole answer arrived: the request may have executed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionResetError extends Schema.TaggedError<ConnectionResetError>()("ConnectionResetError", {
  reason: Schema.String,
  requestId: Schema.optional(Schema.String)
}) {
  readonly code = "CONNECTION_RESET"
  readonly errorClass: ErrorClass = "ambiguous"
  override get message() {
    return `CONNECTION_RESET (${this.reason}): the request may have executed`
  }
}

/**
 * An answer that is not JSON, or not the REST envelope. Holds the status and a short excerpt with
 * secrets removed. A 2xx or 5xx of a write may have executed (`ambiguous`); a 4xx did not run.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadResponseError extends Schema.TaggedError<BadResponseError>()("BadResponseError", {
  status: Schema.Number,
  excerpt: Schema.String,
  requestId: Schema.optional(Schema.String)
}) {
  readonly code = "BAD_RESPONSE"
  get errorClass(): ErrorClass {
    return this.status >= 400 && this.status < 500 ? "permanent" : "ambiguous"
  }
  override get message() {
    return `BAD_RESPONSE (HTTP ${this.status}): ${this.excerpt}`
  }
}

// ---------------------------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------------------------

/**
 * An error answered by the REST server (or refused locally as the server would).
 *
 * @since 0.1.0
 * @category models
 */
export type ServerError =
  | WrongAuthTypeError
  | LineCodeError
  | ImbotMissingError
  | LineNotFoundError
  | UserIdEmptyError
  | UserMessageLimitError
  | MessageEmptyError
  | AttachOversizeError
  | AttachError
  | KeyboardError
  | WrongRequestError
  | InternalServerError
  | UnexpectedAnswerError
  | QueryLimitExceededError
  | OperationTimeLimitError
  | NoAuthFoundError
  | HttpsRequiredError
  | OverloadLimitError
  | AccessDeniedError
  | InvalidCredentialsError
  | MethodNotFoundError
  | InsufficientScopeError
  | ExpiredTokenError
  | InvalidTokenError
  | UserAccessError
  | PortalDeletedError
  | BatchLengthExceededError
  | BatchMethodNotAllowedError
  | ManifestNotAvailableError
  | UnknownBitrixError

/**
 * @since 0.1.0
 * @category models
 */
export type TransportError = RequestTimeoutError | ConnectionRefusedError | ConnectionResetError | BadResponseError

/**
 * Everything a call to the portal can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type BitrixError = ServerError | TransportError

/**
 * The errors core's local validation produces, before any request.
 *
 * @since 0.1.0
 * @category models
 */
export type ValidationError =
  | InvalidMessageError
  | LineCodeError
  | UserIdEmptyError
  | MessageEmptyError
  | AttachOversizeError
  | AttachError
  | KeyboardError
  | InternalServerError

type KnownConstructor = new (props: {
  readonly description: string
  readonly status?: number | undefined
  readonly source: "server" | "local"
  readonly requestId?: string | undefined
}) => ServerError

const known: ReadonlyArray<KnownConstructor & { readonly code: string }> = [
  WrongAuthTypeError,
  LineCodeError,
  ImbotMissingError,
  LineNotFoundError,
  UserIdEmptyError,
  UserMessageLimitError,
  MessageEmptyError,
  AttachOversizeError,
  AttachError,
  KeyboardError,
  WrongRequestError,
  InternalServerError,
  UnexpectedAnswerError,
  QueryLimitExceededError,
  OperationTimeLimitError,
  NoAuthFoundError,
  HttpsRequiredError,
  OverloadLimitError,
  AccessDeniedError,
  InvalidCredentialsError,
  MethodNotFoundError,
  InsufficientScopeError,
  ExpiredTokenError,
  InvalidTokenError,
  UserAccessError,
  PortalDeletedError,
  BatchLengthExceededError,
  BatchMethodNotAllowedError,
  ManifestNotAvailableError
]

const byCode = new Map(known.map((errorType) => [errorType.code, errorType]))

/**
 * Every code core models, for tests and documentation.
 *
 * @since 0.1.0
 * @category constants
 */
export const knownCodes: ReadonlyArray<string> = known.map((errorType) => errorType.code)

/**
 * The tagged error of an error answer `{error, error_description}`; codes compared exactly.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromAnswer = (answer: {
  readonly code: string
  readonly description: string
  readonly status?: number | undefined
  readonly requestId?: string | undefined
}): ServerError => {
  const props = {
    description: answer.description,
    status: answer.status,
    source: "server" as const,
    requestId: answer.requestId
  }
  const errorType = byCode.get(answer.code)
  return errorType === undefined ? new UnknownBitrixError({ ...props, code: answer.code }) : new errorType(props)
}

const tags = new Set([
  ...known.map((errorType) => errorType.name),
  "UnknownBitrixError",
  "RequestTimeoutError",
  "ConnectionRefusedError",
  "ConnectionResetError",
  "BadResponseError",
  "InvalidMessageError"
])

/**
 * @since 0.1.0
 * @category predicates
 */
export const isBitrixError = (value: unknown): value is BitrixError =>
  Predicate.hasProperty(value, "_tag") &&
  typeof value._tag === "string" &&
  tags.has(value._tag) &&
  Predicate.hasProperty(value, "errorClass")
