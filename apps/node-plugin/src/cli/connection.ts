/**
 * What the CLI connects to, from its configuration: the portal's auth, the database, the rules.
 *
 * @since 0.1.0
 */

import { PortalAuth } from "@linecast/core"
import { Rules } from "@linecast/crm-webhook"
import { DeliveryDatabase } from "@linecast/delivery"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { CliConfig } from "./CliConfig.js"
import { CliError } from "./CliError.js"

/**
 * The configured portal's auth; a `CliError` naming what is missing when there is none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const portalAuth = (cliConfig: CliConfig) =>
  Effect.gen(function* () {
    if (Option.isSome(cliConfig.webhookUrl)) return yield* PortalAuth.webhook(cliConfig.webhookUrl.value)
    if (Option.isSome(cliConfig.oauth)) {
      const oauth = cliConfig.oauth.value
      return yield* PortalAuth.oauth({
        restUrl: oauth.restUrl,
        clientId: oauth.clientId,
        clientSecret: oauth.clientSecret,
        tokenUrl: Option.getOrUndefined(oauth.tokenUrl),
        initialTokens: { accessToken: oauth.accessToken, refreshToken: oauth.refreshToken }
      })
    }
    return yield* new CliError({
      kind: "invalid",
      message: "No portal configured: set LINECAST_WEBHOOK_URL, or the LINECAST_PORTAL_URL/CLIENT_ID/… OAuth variables"
    })
  }).pipe(
    Effect.mapError((error) =>
      error instanceof CliError ? error : new CliError({ kind: "invalid", message: error.message })
    )
  )

/**
 * @since 0.1.0
 * @category constructors
 */
export const database = (
  cliConfig: CliConfig,
  fallbackFile = DeliveryDatabase.defaultSqliteFile
): DeliveryDatabase.DatabaseOptions =>
  Option.isSome(cliConfig.databaseUrl) && /^postgres(ql)?:\/\//.test(Redacted.value(cliConfig.databaseUrl.value))
    ? { kind: "postgres", url: cliConfig.databaseUrl.value }
    : { kind: "sqlite", filename: Option.getOrElse(cliConfig.sqliteFile, () => fallbackFile) }

/**
 * The rules file's rules, or none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rules = (cliConfig: CliConfig) =>
  Option.match(cliConfig.rulesFile, {
    onNone: () => Effect.succeed<Rules.RuleSet>({ rules: [] }),
    onSome: (file) =>
      Rules.fromFile(file).pipe(Effect.mapError((error) => new CliError({ kind: "invalid", message: error.message })))
  })
