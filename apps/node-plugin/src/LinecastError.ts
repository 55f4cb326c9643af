/**
 * Errors for code that does not use Effect: `Error` subclasses with readonly structured fields,
 * made from core's and delivery's typed errors. `instanceof` works in ESM and, on Node 20.19+,
 * from CommonJS through `require(esm)`: there is one copy of this module either way.
 *
 * @since 0.1.0
 */

/**
 * What the caller can do about an error.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorKind = "validation" | "rateLimit" | "quota" | "auth" | "ambiguous" | "permanent" | "transient"

/**
 * @since 0.1.0
 * @category errors
 */
export class LinecastError extends Error {
  override readonly name: string = "LinecastError"
  /** The Bitrix24 or Linecast error code (`USER_MESSAGE_LIMIT`, `CODE`, `OutboxStorageError`, ...). */
  readonly code: string
  readonly kind: ErrorKind
  /** Whether the same call may simply be made again later. */
  readonly retryable: boolean
  override readonly cause: unknown

  constructor(
    message: string,
    options: { readonly code: string; readonly kind: ErrorKind; readonly retryable: boolean; readonly cause?: unknown }
  ) {
    super(message)
    this.code = options.code
    this.kind = options.kind
    this.retryable = options.retryable
    this.cause = options.cause
  }
}

/** The message breaks a rule of the method; nothing was sent. @since 0.1.0 @category errors */
export class LinecastValidationError extends LinecastError {
  override readonly name = "LinecastValidationError"
  /** The field that failed, when known. */
  readonly field: string | undefined
  constructor(
    message: string,
    options: { readonly code: string; readonly field?: string | undefined; readonly cause?: unknown }
  ) {
    super(message, { code: options.code, kind: "validation", retryable: false, cause: options.cause })
    this.field = options.field
  }
}

/** The portal's rate limit or operating-time limit; nothing was executed. @since 0.1.0 @category errors */
export class LinecastRateLimitError extends LinecastError {
  override readonly name = "LinecastRateLimitError"
  constructor(message: string, options: { readonly code: string; readonly cause?: unknown }) {
    super(message, { code: options.code, kind: "rateLimit", retryable: true, cause: options.cause })
  }
}

/** The recipient was already written to this week. @since 0.1.0 @category errors */
export class LinecastQuotaError extends LinecastError {
  override readonly name = "LinecastQuotaError"
  /** When the recipient may next be written to, when known. */
  readonly nextAllowedAt: Date | undefined
  constructor(
    message: string,
    options: { readonly code: string; readonly nextAllowedAt?: number | undefined; readonly cause?: unknown }
  ) {
    super(message, { code: options.code, kind: "quota", retryable: false, cause: options.cause })
    this.nextAllowedAt = options.nextAllowedAt === undefined ? undefined : new Date(options.nextAllowedAt)
  }
}

/** Credentials, scope or plan: fix the configuration. @since 0.1.0 @category errors */
export class LinecastAuthError extends LinecastError {
  override readonly name = "LinecastAuthError"
  constructor(message: string, options: { readonly code: string; readonly cause?: unknown }) {
    super(message, { code: options.code, kind: "auth", retryable: false, cause: options.cause })
  }
}

/** The request may have executed (the answer was lost): do not resend blindly. @since 0.1.0 @category errors */
export class LinecastAmbiguousError extends LinecastError {
  override readonly name = "LinecastAmbiguousError"
  constructor(message: string, options: { readonly code: string; readonly cause?: unknown }) {
    super(message, { code: options.code, kind: "ambiguous", retryable: false, cause: options.cause })
  }
}

/** The portal refused for good (a line not joined, a user that does not exist, ...). @since 0.1.0 @category errors */
export class LinecastPermanentError extends LinecastError {
  override readonly name = "LinecastPermanentError"
  constructor(message: string, options: { readonly code: string; readonly cause?: unknown }) {
    super(message, { code: options.code, kind: "permanent", retryable: false, cause: options.cause })
  }
}

/** A passing failure of Linecast itself (the database, say): try again. @since 0.1.0 @category errors */
export class LinecastTransientError extends LinecastError {
  override readonly name = "LinecastTransientError"
  constructor(message: string, options: { readonly code: string; readonly cause?: unknown }) {
    super(message, { code: options.code, kind: "transient", retryable: true, cause: options.cause })
  }
}

const validationTags = new Set([
  "InvalidMessageError",
  "LineCodeError",
  "UserIdEmptyError",
  "MessageEmptyError",
  "AttachOversizeError",
  "AttachError",
  "KeyboardError"
])

/**
 * The Promise world's error for a typed error of core, delivery or the listener.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromTagged = (error: unknown): LinecastError => {
  if (error instanceof LinecastError) return error
  const tagged = (error ?? {}) as {
    readonly _tag?: string
    readonly message?: string
    readonly code?: string
    readonly errorClass?: string
    readonly field?: string
    readonly nextAllowedAt?: number
  }
  const tag = tagged._tag ?? "UnknownError"
  const message = tagged.message ?? String(error)
  const code = tagged.code ?? tag
  if (validationTags.has(tag) && (tagged as { source?: string }).source !== "server") {
    return new LinecastValidationError(message, { code, field: tagged.field, cause: error })
  }
  // Configuration and lookups: the caller's input, whatever class core gives them.
  if (
    tag === "PortalAddressError" ||
    tag === "EntryNotFoundError" ||
    tag === "NotReplayableError" ||
    tag === "UnknownPortalError"
  ) {
    return new LinecastValidationError(message, { code: tag, cause: error })
  }
  switch (tagged.errorClass) {
    case "rateLimited":
      return new LinecastRateLimitError(message, { code, cause: error })
    case "quota":
      return new LinecastQuotaError(message, { code, nextAllowedAt: tagged.nextAllowedAt, cause: error })
    case "auth":
      return new LinecastAuthError(message, { code, cause: error })
    case "ambiguous":
      return new LinecastAmbiguousError(message, { code, cause: error })
    case "retryable":
      return new LinecastTransientError(message, { code, cause: error })
    case "permanent":
      return validationTags.has(tag)
        ? new LinecastValidationError(message, { code, field: tagged.field, cause: error })
        : new LinecastPermanentError(message, { code, cause: error })
  }
  if (tag === "OutboxStorageError" || tag === "OutboxConflictError" || tag === "InboxStorageError") {
    return new LinecastTransientError(message, { code: tag, cause: error })
  }
  if (tag === "TokenRefreshError") return new LinecastAuthError(message, { code: tag, cause: error })
  return new LinecastPermanentError(message, { code, cause: error })
}
