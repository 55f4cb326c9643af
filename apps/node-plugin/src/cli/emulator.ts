/**
 * `linecast emulator`: the testkit's Bitrix24 portal emulator, for demos and other people's tests.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { PortalEmulator, startPortalEmulator } from "@linecast/testkit"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

const port = Options.integer("port").pipe(Options.withDefault(0), Options.withDescription("Port (0: a free one)"))
const host = Options.text("host").pipe(Options.withDefault("127.0.0.1"))
const https = Options.boolean("https").pipe(Options.withDescription("Serve HTTPS with a self-signed certificate"))

/**
 * @since 0.1.0
 * @category commands
 */
export const emulator = Command.make("emulator", { port, host, https }, (options) =>
  Effect.gen(function* () {
    const running = yield* Effect.acquireRelease(
      Effect.promise(() => startPortalEmulator(options)),
      (started) => Effect.promise(() => started.close())
    )
    yield* Console.log(JSON.stringify(PortalEmulator.summary(running)))
    return yield* Effect.never
  }).pipe(Effect.scoped)
).pipe(Command.withDescription("Start the Bitrix24 portal emulator and print one JSON line"))
