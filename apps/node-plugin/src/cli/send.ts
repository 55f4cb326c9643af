/**
 * `linecast send`: one message from flags, or one or many (a JSON array) from a file. `--dry-run`
 * validates locally (as the server would) and sends nothing; `--queue` hands them to the durable outbox
 * instead of sending now (the key of the n-th message of an array is `KEY/n`).
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { Command, Options } from "@effect/cli"
import { NetworkMessage, OpenChannel } from "@linecast/core"
import { Outbox } from "@linecast/delivery"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as LinecastService from "../LinecastService.js"
import * as CliConfig from "./CliConfig.js"
import { CliError, fromError } from "./CliError.js"
import { forEachWithProgress, progressFlag } from "./progress.js"
import { withService } from "./withService.js"

const user = Options.integer("user").pipe(Options.optional, Options.withDescription("The recipient's user id"))
const text = Options.text("message").pipe(Options.optional, Options.withDescription("The text (BB codes allowed)"))
const line = Options.text("line").pipe(
  Options.optional,
  Options.withDescription("The open line CODE (default LINECAST_LINE_CODE)")
)
const file = Options.file("file").pipe(
  Options.optional,
  Options.withDescription("A JSON file with the whole message, or an array of messages")
)
const dryRun = Options.boolean("dry-run").pipe(Options.withDescription("Validate locally; send nothing"))
const queue = Options.text("queue").pipe(
  Options.optional,
  Options.withDescription("Enqueue with this idempotency key instead of sending now")
)
const json = Options.boolean("json")

// The domain form (userId, message, lineCode, attachment, keyboard), as the Promise API takes it.
const checkMessage = Schema.validate(NetworkMessage.NetworkMessage, { errors: "all" })

/**
 * @since 0.1.0
 * @category commands
 */
export const send = Command.make(
  "send",
  { user, text, line, file, dryRun, queue, json, progress: progressFlag },
  (options) =>
    Effect.gen(function* () {
      const cliConfig = yield* CliConfig.config.pipe(
        Effect.mapError((error) => new CliError({ kind: "invalid", message: String(error) }))
      )
      const fromFile = yield* Option.match(options.file, {
        onNone: () => Effect.succeed<unknown>({}),
        onSome: (path) =>
          Effect.try({
            try: () => JSON.parse(readFileSync(path, "utf8")) as unknown,
            catch: (error) => new CliError({ kind: "invalid", message: `${path}: ${(error as Error).message}` })
          })
      })
      const many = Array.isArray(fromFile)
      const fromFiles = (many ? fromFile : [fromFile]) as ReadonlyArray<Record<string, unknown>>
      // Every message is checked before the first is sent: a bad one in an array sends none.
      const messages = yield* Effect.forEach(fromFiles, (fromOne, index) =>
        Effect.gen(function* () {
          const candidate = {
            ...fromOne,
            ...Option.match(options.user, { onNone: () => ({}), onSome: (userId) => ({ userId }) }),
            ...Option.match(options.text, { onNone: () => ({}), onSome: (message) => ({ message }) }),
            lineCode: Option.getOrElse(
              options.line,
              () => (fromOne.lineCode as string | undefined) ?? Option.getOrUndefined(cliConfig.lineCode)
            )
          }
          const message = yield* checkMessage(candidate).pipe(
            Effect.mapError(
              (error) =>
                new CliError({
                  kind: "invalid",
                  message: `Invalid message${many ? ` ${index}` : ""}: ${ParseResult.ArrayFormatter.formatErrorSync(
                    error
                  )
                    .map((issue) => `${issue.path.join(".") || "(message)"}: ${issue.message}`)
                    .join("; ")}`
                })
            )
          )
          yield* NetworkMessage.validate(message).pipe(Effect.mapError(fromError))
          return message
        })
      )
      if (options.dryRun) {
        yield* Console.log(
          options.json ? JSON.stringify({ valid: true }) : "Valid: the portal would accept this message's form."
        )
        return
      }
      const outcomes = yield* withService(cliConfig, (context) =>
        forEachWithProgress(
          messages.map((message, index) => ({ message, index })),
          {
            label: options.queue._tag === "Some" ? "queueing" : "sending",
            json: options.json,
            forced: options.progress
          },
          ({ message, index }): Effect.Effect<Record<string, unknown>, unknown, LinecastService.Services> =>
            Option.isNone(options.queue)
              ? Effect.map(
                  Effect.flatMap(OpenChannel.OpenChannel, (channel) => channel.send(message)),
                  (receipt) => ({ sent: true, requestId: receipt.requestId, attempts: receipt.attempts })
                )
              : Effect.map(
                  Effect.flatMap(Outbox.Outbox, (outbox) =>
                    outbox.enqueue(message, {
                      idempotencyKey: many
                        ? `${Option.getOrThrow(options.queue)}/${index}`
                        : Option.getOrThrow(options.queue),
                      portal: context.portalId
                    })
                  ),
                  ({ entry, created }) => ({ queued: true, id: entry.id, state: entry.state, created })
                )
        )
      )
      const outcome = many ? outcomes : outcomes[0]!
      const summary = (many ? outcomes : [outcomes[0]!])
        .map((one) =>
          Object.entries(one)
            .map(([key, value]) => `${key}: ${String(value)}`)
            .join(many ? ", " : "\n")
        )
        .join("\n")
      yield* Console.log(options.json ? JSON.stringify(outcome) : summary)
    })
).pipe(Command.withDescription("Send one message (or --dry-run to validate it, --queue KEY to enqueue it)"))
