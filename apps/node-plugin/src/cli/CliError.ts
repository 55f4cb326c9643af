/**
 * The CLI's failures, each with the exit code scripts rely on: 2 invalid input, 3 quota, 4 auth,
 * 5 transient (try again), 1 anything else.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { fromTagged } from "../LinecastError.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class CliError extends Schema.TaggedError<CliError>()("CliError", {
  kind: Schema.Literal("invalid", "quota", "auth", "transient", "failed"),
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category constants
 */
export const exitCodes: Record<CliError["kind"], number> = { invalid: 2, quota: 3, auth: 4, transient: 5, failed: 1 }

/**
 * A CLI failure for any typed error of core, delivery or the listener.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromError = (error: unknown): CliError => {
  if (error instanceof CliError) return error
  const linecast = fromTagged(error)
  const kind: CliError["kind"] =
    linecast.kind === "validation"
      ? "invalid"
      : linecast.kind === "quota"
        ? "quota"
        : linecast.kind === "auth"
          ? "auth"
          : linecast.kind === "rateLimit" || linecast.kind === "transient" || linecast.kind === "ambiguous"
            ? "transient"
            : "failed"
  return new CliError({ kind, message: linecast.message })
}
