/**
 * `linecast outbox list|replay|purge` and `linecast quota <user>`.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Outbox, type OutboxEntry } from "@linecast/delivery"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CliConfig from "./CliConfig.js"
import { CliError } from "./CliError.js"
import { forEachWithProgress, progressFlag } from "./progress.js"
import { withService } from "./withService.js"

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of a table"))
const state = Options.choice("state", ["queued", "sending", "sent", "deferred", "ambiguous", "dead"]).pipe(
  Options.optional
)
const limit = Options.integer("limit").pipe(Options.withDefault(50))

const loadConfig = CliConfig.config.pipe(
  Effect.mapError((error) => new CliError({ kind: "invalid", message: String(error) }))
)

const row = (entry: OutboxEntry.OutboxEntry) =>
  [
    entry.id.padEnd(24),
    entry.state.padEnd(9),
    String(entry.message.userId).padEnd(8),
    entry.idempotencyKey.slice(0, 32).padEnd(32),
    entry.lastError?.code ??
      (entry.nextAllowedAt === undefined ? "" : `until ${new Date(entry.nextAllowedAt).toISOString()}`)
  ].join(" ")

const list = Command.make("list", { json, state, limit }, (options) =>
  Effect.gen(function* () {
    const entries = yield* withService(yield* loadConfig, () =>
      Effect.flatMap(Outbox.Outbox, (outbox) =>
        outbox.list({ state: Option.getOrUndefined(options.state), limit: options.limit })
      )
    )
    if (options.json) return yield* Console.log(JSON.stringify(entries))
    yield* Console.log(
      [
        `${"id".padEnd(24)} ${"state".padEnd(9)} ${"user".padEnd(8)} ${"key".padEnd(32)} note`,
        ...entries.map(row)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("List outbox entries"))

const replayState = Options.choice("state", ["dead", "ambiguous"]).pipe(
  Options.optional,
  Options.withDescription("Replay every entry in this state (besides the ids given)")
)

const replay = Command.make(
  "replay",
  { ids: Args.text({ name: "id" }).pipe(Args.repeated), state: replayState, json, progress: progressFlag },
  (options) =>
    Effect.gen(function* () {
      const replayed = yield* withService(yield* loadConfig, () =>
        Effect.gen(function* () {
          const outbox = yield* Outbox.Outbox
          const inState = yield* Option.match(options.state, {
            onNone: () => Effect.succeed([]),
            onSome: (state) =>
              Effect.map(outbox.list({ state, limit: 100_000 }), (entries) => entries.map((entry) => entry.id))
          })
          const ids = [...new Set([...options.ids, ...inState])]
          return yield* forEachWithProgress(
            ids,
            { label: "replaying", json: options.json, forced: options.progress },
            (id) => outbox.replay(id)
          )
        })
      )
      yield* Console.log(
        options.json ? JSON.stringify(replayed) : replayed.map((entry) => `replayed ${entry.id}`).join("\n")
      )
    })
).pipe(Command.withDescription("Send dead or ambiguous entries again (by id, or all of a state with --state)"))

const purge = Command.make("purge", { state, json }, (options) =>
  Effect.gen(function* () {
    const purged = yield* withService(yield* loadConfig, () =>
      Effect.flatMap(Outbox.Outbox, (outbox) => outbox.purge({ state: Option.getOrUndefined(options.state) }))
    )
    yield* Console.log(options.json ? JSON.stringify({ purged }) : `purged ${purged}`)
  })
).pipe(Command.withDescription("Remove entries (by state)"))

/**
 * @since 0.1.0
 * @category commands
 */
export const outbox = Command.make("outbox").pipe(
  Command.withSubcommands([list, replay, purge]),
  Command.withDescription("Read and steer the outbox")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const quota = Command.make(
  "quota",
  { user: Args.integer({ name: "user" }), line: Options.text("line").pipe(Options.optional), json },
  (options) =>
    Effect.gen(function* () {
      const cliConfig = yield* loadConfig
      const lineCode = Option.orElse(options.line, () => cliConfig.lineCode)
      if (Option.isNone(lineCode))
        return yield* new CliError({ kind: "invalid", message: "Give --line or set LINECAST_LINE_CODE" })
      const next = yield* withService(cliConfig, (context) =>
        Effect.flatMap(Outbox.Outbox, (outbox) =>
          outbox.nextAllowedAt({ portal: context.portalId, lineCode: lineCode.value, userId: options.user })
        )
      )
      const when = next === undefined ? undefined : new Date(next).toISOString()
      yield* Console.log(
        options.json
          ? JSON.stringify({ userId: options.user, nextAllowedAt: when ?? null })
          : when === undefined
            ? `User ${options.user} can be written to now.`
            : `User ${options.user} can next be written to at ${when}.`
      )
    })
).pipe(Command.withDescription("When a user can next be written to"))
