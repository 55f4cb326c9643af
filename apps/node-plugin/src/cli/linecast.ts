/**
 * The `linecast` command: its subcommands, and the exit codes scripts rely on.
 *
 * @since 0.1.0
 */
import { Command, ValidationError } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { exitCodes, fromError } from "./CliError.js"
import { emulator } from "./emulator.js"
import { bind, doctor, unbind } from "./events.js"
import { outbox, quota } from "./outbox.js"
import { send } from "./send.js"
import { serve } from "./serve.js"

const linecast = Command.make("linecast").pipe(
  Command.withSubcommands([serve, emulator, send, quota, outbox, doctor, bind, unbind]),
  Command.withDescription("Reach Bitrix24 users through Open Channels, safely")
)

/**
 * Runs the CLI on `argv`; a failure prints one line (no stack trace unless `--verbose`) and sets
 * the exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) => {
  const verbose = argv.includes("--verbose")
  const cli = Command.run(linecast, { name: "linecast", version: "0.1.0" })
  return cli(argv.filter((argument) => argument !== "--verbose")).pipe(
    Effect.catchAll((error) => {
      // @effect/cli has printed its own message for a bad flag or command.
      if (ValidationError.isValidationError(error)) {
        return Effect.sync(() => {
          process.exitCode = exitCodes.invalid
        })
      }
      const failure = fromError(error)
      return Console.error(
        `linecast: ${failure.message}${verbose ? `\n${String((error as Error)?.stack ?? "")}` : ""}`
      ).pipe(
        Effect.zipRight(
          Effect.sync(() => {
            process.exitCode = exitCodes[failure.kind]
          })
        )
      )
    })
  )
}
