/**
 * The REST answer: `{result, time}` on success (every `time` field optional, since the server omits
 * some), `{error, error_description}` on failure (no `time`), and the `batch` answer.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The server's timing of a successful call, camelCase inside.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseTime = Schema.Struct({
  start: Schema.optional(Schema.Number),
  finish: Schema.optional(Schema.Number),
  duration: Schema.optional(Schema.Number),
  processing: Schema.optional(Schema.Number),
  dateStart: Schema.optional(Schema.String).pipe(Schema.fromKey("date_start")),
  dateFinish: Schema.optional(Schema.String).pipe(Schema.fromKey("date_finish")),
  /** Unix seconds when the method's operating-time budget is partly released. */
  operatingResetAt: Schema.optional(Schema.Number).pipe(Schema.fromKey("operating_reset_at")),
  /** Seconds of the method's operating-time budget used in the window. */
  operating: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseTime = typeof ResponseTime.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const SuccessEnvelope = Schema.Struct({
  result: Schema.Unknown,
  time: Schema.optional(ResponseTime)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ErrorEnvelope = Schema.Struct({
  error: Schema.String,
  errorDescription: Schema.optionalWith(Schema.String, { default: () => "" }).pipe(Schema.fromKey("error_description"))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Envelope = Schema.Union(ErrorEnvelope, SuccessEnvelope)

const keyed = <S extends Schema.Schema.Any>(value: S) =>
  Schema.Union(Schema.Record({ key: Schema.String, value }), Schema.Array(value))

/**
 * `result` of a `batch` call: each command's outcome keyed by command name (an empty PHP array is `[]`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchResult = Schema.Struct({
  result: Schema.optionalWith(keyed(Schema.Unknown), { default: () => ({}) }),
  resultError: Schema.optionalWith(keyed(ErrorEnvelope), { default: () => ({}) }).pipe(Schema.fromKey("result_error")),
  resultTime: Schema.optionalWith(keyed(ResponseTime), { default: () => ({}) }).pipe(Schema.fromKey("result_time"))
})
