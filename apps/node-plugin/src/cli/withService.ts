/**
 * Runs one CLI command against the configured portal and database, with Linecast's whole service
 * for the length of the command.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as LinecastService from "../LinecastService.js"
import type { CliConfig } from "./CliConfig.js"
import { fromError } from "./CliError.js"
import * as Connection from "./connection.js"

/**
 * @since 0.1.0
 * @category running
 */
export const withService = <A, E>(
  cliConfig: CliConfig,
  use: (context: { readonly portalId: string }) => Effect.Effect<A, E, LinecastService.Services>
) =>
  Effect.gen(function* () {
    const auth = yield* Connection.portalAuth(cliConfig)
    // A one-shot command does not wait for in-flight work at exit: it resumes at the next start.
    const layer = LinecastService.layer({
      auth,
      database: Connection.database(cliConfig),
      delivery: { sharding: { entityTerminationTimeout: "1 second" } }
    })
    return yield* use({ portalId: LinecastService.portalId }).pipe(Effect.provide(layer), Effect.mapError(fromError))
  }).pipe(Effect.scoped)
