/**
 * The request of `imopenlines.network.message.add`: its schema (camelCase inside, Bitrix24's names
 * on the wire, one mapping between them) and the local validation that mirrors the server's checks
 * in the server's order, so that a message that would fail is refused before any request, as the
 * same typed error the server would have answered.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Attachment } from "./Attachment.js"
import {
  AttachError,
  AttachOversizeError,
  InternalServerError,
  InvalidMessageError,
  KeyboardError,
  LineCodeError,
  MessageEmptyError,
  UserIdEmptyError,
  type ValidationError
} from "./BitrixError.js"
import { attachmentSize, normaliseAttachment } from "./internal/attachmentNormaliser.js"
import { keptKeyboardItems } from "./internal/keyboardNormaliser.js"
import type { PhpValue } from "./internal/php.js"
import {
  characterLength,
  field,
  intval,
  isEmpty,
  isPhpArray,
  isSet,
  PhpTypeError,
  stringOf,
  trim
} from "./internal/php.js"
import { optional, required } from "./internal/wire.js"
import { Keyboard } from "./Keyboard.js"

/**
 * `urlPreview: false` sends `URL_PREVIEW=N`, the only value that turns previews off.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UrlPreview = Schema.transform(Schema.Literal("Y", "N"), Schema.Boolean, {
  strict: true,
  decode: (flag) => flag !== "N",
  encode: (flag) => (flag ? "Y" : "N")
})

/**
 * A message to one Bitrix24 user from one network open line. The schema is structural; the server's
 * rules (32-character code, non-zero user id, non-blank text, attachment size...) are checked by
 * {@link validate}, which answers with the server's own errors.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NetworkMessage = Schema.Struct({
  /** The open line's code (`CODE`), exactly 32 characters. */
  lineCode: required(Schema.String, "CODE"),
  /** The recipient (`USER_ID`). */
  userId: required(Schema.Int, "USER_ID"),
  /** The text (`MESSAGE`), BB codes allowed; see `BBCode`. */
  message: required(Schema.String, "MESSAGE"),
  attachment: optional(Attachment, "ATTACH"),
  keyboard: optional(Keyboard, "KEYBOARD"),
  urlPreview: optional(UrlPreview, "URL_PREVIEW")
})

/**
 * @since 0.1.0
 * @category models
 */
export type NetworkMessage = typeof NetworkMessage.Type

/**
 * The wire form: `{CODE, USER_ID, MESSAGE, ATTACH?, KEYBOARD?, URL_PREVIEW?}`.
 *
 * @since 0.1.0
 * @category models
 */
export type NetworkMessageWire = typeof NetworkMessage.Encoded

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (message: NetworkMessage): NetworkMessage => message

// Compiled once; synchronous, so a send does not run a nested effect for its encoding.
const encodeMessage = Schema.encodeEither(NetworkMessage)

/**
 * The wire form of a typed message; a value the schema refuses is an `InvalidMessageError` naming the field.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toWire = (message: NetworkMessage): Effect.Effect<NetworkMessageWire, InvalidMessageError> =>
  Effect.suspend(() => toWireEither(message))

/**
 * `toWire` as plain code: for callers that validate many messages at once outside an effect's steps.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toWireEither = (message: NetworkMessage): Either.Either<NetworkMessageWire, InvalidMessageError> => {
  const encoded = textWire(message) ?? encodeMessage(message)
  if (Either.isRight(encoded)) {
    const illFormed = illFormedAt(encoded.right, [])
    if (illFormed === undefined) return Either.right(encoded.right)
    return Either.left(
      new InvalidMessageError({
        field: illFormed.length === 0 ? "message" : illFormed.join("."),
        rule: "must be valid Unicode text (it holds a lone UTF-16 surrogate)"
      })
    )
  }
  const issue = ParseResult.ArrayFormatter.formatErrorSync(encoded.left)[0]
  return Either.left(
    new InvalidMessageError({
      field: issue === undefined || issue.path.length === 0 ? "message" : issue.path.map(String).join("."),
      rule: issue?.message ?? "does not match the schema"
    })
  )
}

/**
 * A text message (no attachment, keyboard or preview flag): what the schema makes of it, its three fields
 * renamed, without walking the schema (most of the cost of validating one; an adapter validates every
 * message it takes). Anything else, or a field of the wrong type, goes through the schema and its errors.
 */
const textWire = (message: NetworkMessage): Either.Either<NetworkMessageWire, never> | undefined =>
  typeof message.lineCode === "string" &&
  Number.isSafeInteger(message.userId) &&
  typeof message.message === "string" &&
  !("attachment" in message) &&
  !("keyboard" in message) &&
  !("urlPreview" in message)
    ? Either.right({ CODE: message.lineCode, USER_ID: message.userId, MESSAGE: message.message })
    : undefined

/** A lone UTF-16 surrogate: no encoding (URL, JSON for PHP) can carry it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The path of the first string that is not well-formed Unicode, or undefined. */
const illFormedAt = (value: unknown, path: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  if (typeof value === "string") return loneSurrogate.test(value) ? path : undefined
  if (typeof value !== "object" || value === null) return undefined
  for (const [key, inner] of Object.entries(value)) {
    if (loneSurrogate.test(key)) return [...path, key]
    const found = illFormedAt(inner, [...path, key])
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Limits of the server's checks; the defaults are those of the server's code.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidationOptions {
  /** The attachment is refused when its normalised JSON reaches this many characters. Default 60,000. */
  readonly attachmentMaxCharacters?: number
  /** The server's clock in Unix seconds, for the attachment's `ID` (its length counts). Default now. */
  readonly nowSeconds?: number
}

/**
 * What the server would keep of a valid message.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidatedMessage {
  readonly wire: Readonly<Record<string, PhpValue>>
  readonly userId: number
  /** The attachment's size as the server measures it, when there is one. */
  readonly attachmentSize?: number
}

const local = { source: "local" as const }

/**
 * The server's checks on raw wire parameters, in its order: `CODE` (32 characters), `USER_ID` (PHP
 * `(int)` cast, non-zero), `MESSAGE` (non-blank after PHP `trim`), `ATTACH` (normalised, then measured
 * as `mb_strlen(json_encode(..., JSON_UNESCAPED_UNICODE)) < limit`), `KEYBOARD` (a kept button or row
 * break). The portal's own state (line joined, weekly rule, imbot installed) cannot be checked here.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateWire = (
  params: unknown,
  options: ValidationOptions = {}
): Effect.Effect<ValidatedMessage, ValidationError> => Effect.suspend(() => validateWireEither(params, options))

/**
 * `validateWire` as plain code.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateWireEither = (
  params: unknown,
  options: ValidationOptions = {}
): Either.Either<ValidatedMessage, ValidationError> => {
  if (!isPhpArray(params) || Array.isArray(params)) {
    return Either.left(
      new LineCodeError({
        ...local,
        description: "You entered an invalid code",
        field: "CODE",
        rule: "parameters must be an object"
      })
    )
  }
  // The server upper-cases top-level keys first: `code` works like `CODE`.
  const upper: Record<string, PhpValue> = {}
  for (const [key, value] of Object.entries(params as Record<string, PhpValue>)) upper[key.toUpperCase()] = value
  try {
    const code = field(upper, "CODE")
    if (!isSet(code) || characterLength(stringOf(code)) !== 32) {
      return Either.left(
        new LineCodeError({
          ...local,
          description: "You entered an invalid code",
          field: "lineCode",
          rule: "exactly 32 characters"
        })
      )
    }
    const userId = intval(field(upper, "USER_ID"))
    if (userId === 0) {
      return Either.left(
        new UserIdEmptyError({
          ...local,
          description: "User ID can't be empty",
          field: "userId",
          rule: "an integer other than 0"
        })
      )
    }
    if (trim(field(upper, "MESSAGE")) === "") {
      return Either.left(
        new MessageEmptyError({
          ...local,
          description: "Message can't be empty",
          field: "message",
          rule: "not blank after trimming"
        })
      )
    }
    let size: number | undefined
    const attach = field(upper, "ATTACH")
    if (!isEmpty(attach)) {
      const normalised = normaliseAttachment(attach!, options.nowSeconds ?? Math.floor(Date.now() / 1000))
      if (normalised === undefined) {
        return Either.left(
          new AttachError({
            ...local,
            description: "Incorrect attach params",
            field: "attachment",
            rule: "at least one valid block"
          })
        )
      }
      size = attachmentSize(normalised)
      const limit = options.attachmentMaxCharacters ?? 60_000
      if (size >= limit) {
        return Either.left(
          new AttachOversizeError({
            ...local,
            description: "You have exceeded the maximum allowable size of attach",
            field: "attachment",
            rule: `normalised JSON under ${limit} characters`,
            size,
            limit
          })
        )
      }
    }
    const keyboard = field(upper, "KEYBOARD")
    if (!isEmpty(keyboard) && keptKeyboardItems(keyboard!) === 0) {
      return Either.left(
        new KeyboardError({
          ...local,
          description: "Incorrect keyboard params",
          field: "keyboard",
          rule: "at least one link button"
        })
      )
    }
    return Either.right({ wire: upper, userId, ...(size === undefined ? {} : { attachmentSize: size }) })
  } catch (cause) {
    if (cause instanceof PhpTypeError) {
      return Either.left(
        new InternalServerError({
          ...local,
          description: "A parameter has a type the server cannot read (PHP TypeError)"
        })
      )
    }
    throw cause
  }
}

/**
 * Validates a typed message as the server would, before any request.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  message: NetworkMessage,
  options: ValidationOptions = {}
): Effect.Effect<ValidatedMessage, ValidationError> => Effect.suspend(() => validateEither(message, options))

/**
 * `validate` as plain code: for callers that validate many messages at once outside an effect's steps
 * (delivery's `enqueueMany`), or outside Effect altogether.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEither = (
  message: NetworkMessage,
  options: ValidationOptions = {}
): Either.Either<ValidatedMessage, ValidationError> =>
  Either.flatMap(toWireEither(message), (wire) => validateWireEither(wire, options))
