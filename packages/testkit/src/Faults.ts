/**
 * Reproducible fault injection for a portal: server errors, connection resets, added latency,
 * requests that never answer, and "accepted but the answer is lost" (the message is recorded,
 * then the connection drops before the response: the ambiguous case every sender must survive).
 * Every decision is drawn from a generator seeded per portal, so the same seed and the same
 * sequence of requests give the same faults.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const Rate = Schema.Number.pipe(Schema.between(0, 1))

/**
 * @since 0.1.0
 * @category schemas
 */
export const FaultOptions = Schema.Struct({
  /** The generator's seed. */
  seed: Schema.optional(Schema.Int),
  /** Share of requests answered with a 5xx before the method runs. */
  serverErrorRate: Schema.optional(Rate),
  /** The status of those answers (500 by default). */
  serverErrorStatus: Schema.optional(Schema.Int.pipe(Schema.between(500, 599))),
  /** Their `error` code: `INTERNAL_SERVER_ERROR` (default) or `ERROR_UNEXPECTED_ANSWER`. */
  serverErrorCode: Schema.optional(Schema.Literal("INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER")),
  /** Share of requests whose connection is reset before the method runs. */
  resetRate: Schema.optional(Rate),
  /** Share of requests that never answer (held for `hangMs`, then the connection is dropped). */
  hangRate: Schema.optional(Rate),
  hangMs: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
  /** Share of requests that are executed, then lose their answer (the connection drops). */
  lostAnswerRate: Schema.optional(Rate),
  /** Latency added to every request, in milliseconds: a fixed value or a range drawn from the generator. */
  latencyMs: Schema.optional(
    Schema.Union(
      Schema.Number.pipe(Schema.nonNegative()),
      Schema.Struct({ min: Schema.Number.pipe(Schema.nonNegative()), max: Schema.Number.pipe(Schema.nonNegative()) })
    )
  )
})

/**
 * @since 0.1.0
 * @category models
 */
export type FaultOptions = typeof FaultOptions.Type

/**
 * What happens to one request.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultDecision {
  readonly kind: "none" | "serverError" | "reset" | "hang" | "lostAnswer"
  readonly delayMs: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FaultCounters {
  serverErrors: number
  resets: number
  hangs: number
  lostAnswers: number
  delayed: number
}

/** mulberry32: small, fast and good enough to make faults reproducible. */
const generator = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export class Faults {
  private options: FaultOptions = {}
  private random = generator(0)
  counters: FaultCounters = Faults.emptyCounters()

  static emptyCounters(): FaultCounters {
    return { serverErrors: 0, resets: 0, hangs: 0, lostAnswers: 0, delayed: 0 }
  }

  /** Replaces the fault settings and restarts the generator from the seed. */
  configure(options: FaultOptions): void {
    this.options = options
    this.random = generator(options.seed ?? 0)
  }

  settings(): FaultOptions {
    return this.options
  }

  /** Draws the fate of the next request. */
  decide(): FaultDecision {
    const { serverErrorRate = 0, resetRate = 0, hangRate = 0, lostAnswerRate = 0, latencyMs = 0 } = this.options
    // One draw per kind, always, so that changing one rate does not shift the others' sequence.
    const draws = [this.random(), this.random(), this.random(), this.random(), this.random()] as const
    const delayMs =
      typeof latencyMs === "number" ? latencyMs : latencyMs.min + draws[4] * (latencyMs.max - latencyMs.min)
    if (delayMs > 0) this.counters.delayed++
    const kind =
      draws[0] < resetRate
        ? "reset"
        : draws[1] < serverErrorRate
          ? "serverError"
          : draws[2] < hangRate
            ? "hang"
            : draws[3] < lostAnswerRate
              ? "lostAnswer"
              : "none"
    if (kind === "reset") this.counters.resets++
    if (kind === "serverError") this.counters.serverErrors++
    if (kind === "hang") this.counters.hangs++
    if (kind === "lostAnswer") this.counters.lostAnswers++
    return { kind, delayMs }
  }

  get hangMs(): number {
    return this.options.hangMs ?? 60_000
  }

  get serverErrorStatus(): number {
    return this.options.serverErrorStatus ?? 500
  }

  /** The body of an injected server error, with the texts of the REST docs' system-errors table. */
  get serverErrorBody(): { readonly error: string; readonly error_description: string } {
    return this.options.serverErrorCode === "ERROR_UNEXPECTED_ANSWER"
      ? { error: "ERROR_UNEXPECTED_ANSWER", error_description: "Server returned an unexpected response." }
      : { error: "INTERNAL_SERVER_ERROR", error_description: "Internal server error" }
  }

  reset(): void {
    this.counters = Faults.emptyCounters()
    this.random = generator(this.options.seed ?? 0)
  }
}
