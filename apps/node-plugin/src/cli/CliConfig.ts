/**
 * The CLI's configuration, from `LINECAST_*` environment variables (secrets read as `Redacted`).
 * With no portal configured the CLI runs on the embedded defaults: the testkit's emulated portal.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"

/**
 * @since 0.1.0
 * @category models
 */
export interface CliConfig {
  /** `LINECAST_WEBHOOK_URL`: an incoming webhook. */
  readonly webhookUrl: Option.Option<Redacted.Redacted<string>>
  /** `LINECAST_PORTAL_URL`, `LINECAST_CLIENT_ID`, `LINECAST_CLIENT_SECRET`, `LINECAST_ACCESS_TOKEN`, `LINECAST_REFRESH_TOKEN`. */
  readonly oauth: Option.Option<{
    readonly restUrl: string
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    readonly accessToken: Redacted.Redacted<string>
    readonly refreshToken: Redacted.Redacted<string>
    readonly tokenUrl: Option.Option<string>
  }>
  /** `LINECAST_DATABASE_URL` (`postgres://…`). */
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  /** `LINECAST_SQLITE_FILE`. */
  readonly sqliteFile: Option.Option<string>
  /** `LINECAST_LINE_CODE`: the default open line. */
  readonly lineCode: Option.Option<string>
  /** `LINECAST_RULES`: the rules file (JSON or YAML). */
  readonly rulesFile: Option.Option<string>
  /** `LINECAST_HOST` (127.0.0.1) and `LINECAST_PORT` (3000): where `serve` listens. */
  readonly host: string
  readonly port: number
  /** `LINECAST_EVENTS_DOMAIN`, `LINECAST_APPLICATION_TOKEN`: the portal whose events `serve` accepts. */
  readonly eventsDomain: Option.Option<string>
  readonly applicationToken: Option.Option<Redacted.Redacted<string>>
  /** `LINECAST_CONSOLE=1` (or `serve --console`): the operator console outside demo mode (always on in demo mode). */
  readonly console: boolean
  /** `LINECAST_CONSOLE_TOKEN`: the console's credential, required outside demo mode. */
  readonly consoleToken: Option.Option<Redacted.Redacted<string>>
  /** `LINECAST_CONSOLE_HOST` (127.0.0.1) and `LINECAST_CONSOLE_PORT` (the listener's port + 1; 0 when it is 0). */
  readonly consoleHost: string
  readonly consolePort: Option.Option<number>
  /**
   * `LINECAST_RUNNER_PORT` (and `LINECAST_RUNNER_HOST`, 127.0.0.1): this process is one of several runners
   * sharing the PostgreSQL database of `LINECAST_DATABASE_URL`, reachable by the others at that address.
   */
  readonly runner: Option.Option<{ readonly host: string; readonly port: number }>
}

const oauth = Config.all({
  restUrl: Config.string("LINECAST_PORTAL_URL"),
  clientId: Config.string("LINECAST_CLIENT_ID"),
  clientSecret: Config.redacted("LINECAST_CLIENT_SECRET"),
  accessToken: Config.redacted("LINECAST_ACCESS_TOKEN"),
  refreshToken: Config.redacted("LINECAST_REFRESH_TOKEN"),
  tokenUrl: Config.option(Config.string("LINECAST_TOKEN_URL"))
})

const portNumber = (name: string) =>
  Config.integer(name).pipe(
    Config.validate({
      message: "Expected a port number from 0 to 65535",
      validation: (port) => port >= 0 && port <= 65_535
    })
  )

/**
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<CliConfig> = Config.all({
  webhookUrl: Config.option(Config.redacted("LINECAST_WEBHOOK_URL")),
  oauth: Config.option(oauth),
  databaseUrl: Config.option(Config.redacted("LINECAST_DATABASE_URL")),
  sqliteFile: Config.option(Config.string("LINECAST_SQLITE_FILE")),
  lineCode: Config.option(Config.string("LINECAST_LINE_CODE")),
  rulesFile: Config.option(Config.string("LINECAST_RULES")),
  host: Config.string("LINECAST_HOST").pipe(Config.withDefault("127.0.0.1")),
  // 0 asks for a free port (tests); Config.port refuses it.
  port: portNumber("LINECAST_PORT").pipe(Config.withDefault(3000)),
  eventsDomain: Config.option(Config.string("LINECAST_EVENTS_DOMAIN")),
  applicationToken: Config.option(Config.redacted("LINECAST_APPLICATION_TOKEN")),
  console: Config.boolean("LINECAST_CONSOLE").pipe(Config.withDefault(false)),
  consoleToken: Config.option(Config.redacted("LINECAST_CONSOLE_TOKEN")),
  consoleHost: Config.string("LINECAST_CONSOLE_HOST").pipe(Config.withDefault("127.0.0.1")),
  consolePort: Config.option(portNumber("LINECAST_CONSOLE_PORT")),
  runner: Config.option(
    Config.all({
      host: Config.string("LINECAST_RUNNER_HOST").pipe(Config.withDefault("127.0.0.1")),
      port: portNumber("LINECAST_RUNNER_PORT")
    })
  )
})

/**
 * Whether a real portal is configured; without one the CLI uses the emulated portal.
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasPortal = (cliConfig: CliConfig): boolean =>
  Option.isSome(cliConfig.webhookUrl) || Option.isSome(cliConfig.oauth)
