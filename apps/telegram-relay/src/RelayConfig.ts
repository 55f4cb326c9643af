/**
 * The relay's settings: the bot, who may send, where messages go, media links, and how to listen.
 * `config` reads them from the environment (`LINECAST_TELEGRAM_*`), secrets as `Redacted`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * Names people and groups use in commands and the chats whose plain messages go somewhere.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Routing = Schema.Struct({
  /** The network open line's CODE messages are sent from. */
  lineCode: Schema.String,
  /** Bitrix24 users by name: `/send boris ...`. A number in a command is a user id as well. */
  recipients: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Int }), { default: () => ({}) }),
  /** Groups of Bitrix24 users: `/broadcast sales ...`. */
  groups: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Int) }), {
    default: () => ({})
  }),
  /** Plain messages in a chat go to a recipient or a group: `{ "-100123": "sales" }`. */
  routes: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  /** Telegram usernames (no `@`) that are Bitrix24 users: a mention becomes `[USER=id]`. */
  mentions: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Int }), { default: () => ({}) })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Routing = typeof Routing.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface RelayOptions {
  readonly token: Redacted.Redacted<string>
  /** `polling` (grammY runner) or `webhook` (`webhookCallback` with a secret token). */
  readonly mode: "polling" | "webhook"
  /**
   * For `webhook`: the secret token Telegram must send, and the public URL it posts to (its path is
   * the one served; `<listening address>/telegram/webhook` by default).
   */
  readonly webhook?: { readonly url?: string | undefined; readonly secretToken: Redacted.Redacted<string> } | undefined
  /** Telegram user ids allowed to send. */
  readonly operators: ReadonlyArray<number>
  /** Chats whose every member may send (a private team group). */
  readonly operatorChats: ReadonlyArray<number>
  readonly routing: Routing
  /** The portal's id in delivery's `PortalChannels`. Default `default`. */
  readonly portal: string
  /** Weekly rule: `defer` (send when the window opens) or `digest` (merge what waits). */
  readonly policy: "defer" | "digest"
  readonly media: {
    readonly secret: Redacted.Redacted<string>
    /** How Bitrix24 reaches the relay's media links; the listening address by default. */
    readonly publicUrl?: string | undefined
    /** How long a media link works. It must outlive a deferred week: default 30 days. */
    readonly ttlSeconds: number
    /** Larger photos and documents are refused (Telegram's `getFile` serves up to 20 MB). */
    readonly maxBytes: number
  }
  readonly listen: { readonly host: string; readonly port: number }
  /** The Bot API's root (Telegram's by default; the emulator's in tests). */
  readonly apiRoot?: string | undefined
  /** What `getMe` answers, to start without calling it. */
  readonly botInfo?: unknown
  /** How often the messages still on their way are checked, to report how they ended. Default 5 s. */
  readonly followUpPollMs: number
  /** An album is complete once no part has come for this long. Default 1 s. */
  readonly albumQuietMs: number
  /** Updates handled at once (across chats; one chat's are always one after another). Default 100. */
  readonly concurrency: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  portal: "default",
  policy: "defer",
  mediaTtlSeconds: 30 * 24 * 3600,
  maxMediaBytes: 20 * 1024 * 1024,
  followUpPollMs: 5_000,
  albumQuietMs: 1_000,
  concurrency: 100
} as const

const ids = (name: string) => Config.array(Config.integer(), name).pipe(Config.withDefault([] as Array<number>))

/**
 * The settings from the environment:
 * `LINECAST_TELEGRAM_BOT_TOKEN` (secret), `LINECAST_TELEGRAM_MODE` (`polling` | `webhook`),
 * `LINECAST_TELEGRAM_WEBHOOK_URL` and `LINECAST_TELEGRAM_WEBHOOK_SECRET` (secret) for webhooks,
 * `LINECAST_TELEGRAM_OPERATORS` and `LINECAST_TELEGRAM_OPERATOR_CHATS` (comma-separated ids),
 * `LINECAST_TELEGRAM_ROUTING` (JSON: `lineCode`, `recipients`, `groups`, `routes`, `mentions`),
 * `LINECAST_TELEGRAM_PORTAL`, `LINECAST_TELEGRAM_POLICY` (`defer` | `digest`),
 * `LINECAST_TELEGRAM_MEDIA_SECRET` (secret), `LINECAST_TELEGRAM_PUBLIC_URL`,
 * `LINECAST_TELEGRAM_MEDIA_TTL_SECONDS`, `LINECAST_TELEGRAM_MAX_MEDIA_BYTES`,
 * `LINECAST_TELEGRAM_HOST` (127.0.0.1), `LINECAST_TELEGRAM_PORT` (8443), `LINECAST_TELEGRAM_API_ROOT`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<RelayOptions> = Config.all({
  token: Config.redacted("LINECAST_TELEGRAM_BOT_TOKEN"),
  mode: Config.literal("polling", "webhook")("LINECAST_TELEGRAM_MODE").pipe(Config.withDefault("polling" as const)),
  webhookUrl: Config.option(Config.url("LINECAST_TELEGRAM_WEBHOOK_URL")),
  webhookSecret: Config.option(Config.redacted("LINECAST_TELEGRAM_WEBHOOK_SECRET")),
  operators: ids("LINECAST_TELEGRAM_OPERATORS"),
  operatorChats: ids("LINECAST_TELEGRAM_OPERATOR_CHATS"),
  routing: Config.string("LINECAST_TELEGRAM_ROUTING").pipe(
    Config.mapOrFail((text) =>
      Schema.decodeEither(Schema.parseJson(Routing))(text).pipe(
        Either.mapLeft((error) => ConfigError.InvalidData(["LINECAST_TELEGRAM_ROUTING"], error.message))
      )
    )
  ),
  portal: Config.string("LINECAST_TELEGRAM_PORTAL").pipe(Config.withDefault(defaults.portal)),
  policy: Config.literal("defer", "digest")("LINECAST_TELEGRAM_POLICY").pipe(Config.withDefault(defaults.policy)),
  mediaSecret: Config.redacted("LINECAST_TELEGRAM_MEDIA_SECRET"),
  publicUrl: Config.option(Config.string("LINECAST_TELEGRAM_PUBLIC_URL")),
  ttlSeconds: Config.integer("LINECAST_TELEGRAM_MEDIA_TTL_SECONDS").pipe(Config.withDefault(defaults.mediaTtlSeconds)),
  maxBytes: Config.integer("LINECAST_TELEGRAM_MAX_MEDIA_BYTES").pipe(Config.withDefault(defaults.maxMediaBytes)),
  host: Config.string("LINECAST_TELEGRAM_HOST").pipe(Config.withDefault("127.0.0.1")),
  // 0 picks a free port.
  port: Config.integer("LINECAST_TELEGRAM_PORT").pipe(
    Config.validate({ message: "Expected a port, 0 to 65535", validation: (port) => port >= 0 && port <= 65_535 }),
    Config.withDefault(8443)
  ),
  apiRoot: Config.option(Config.string("LINECAST_TELEGRAM_API_ROOT"))
}).pipe(
  Config.mapOrFail((settings) => {
    if (settings.mode === "webhook" && Option.isNone(settings.webhookSecret)) {
      return Either.left(
        ConfigError.MissingData(
          ["LINECAST_TELEGRAM_WEBHOOK_SECRET"],
          "Webhook mode needs LINECAST_TELEGRAM_WEBHOOK_SECRET"
        )
      )
    }
    const options: RelayOptions = {
      token: settings.token,
      mode: settings.mode,
      webhook: Option.isSome(settings.webhookSecret)
        ? {
            url: Option.getOrUndefined(Option.map(settings.webhookUrl, String)),
            secretToken: settings.webhookSecret.value
          }
        : undefined,
      operators: settings.operators,
      operatorChats: settings.operatorChats,
      routing: settings.routing,
      portal: settings.portal,
      policy: settings.policy,
      media: {
        secret: settings.mediaSecret,
        publicUrl: Option.getOrUndefined(settings.publicUrl),
        ttlSeconds: settings.ttlSeconds,
        maxBytes: settings.maxBytes
      },
      listen: { host: settings.host, port: settings.port },
      apiRoot: Option.getOrUndefined(settings.apiRoot),
      followUpPollMs: defaults.followUpPollMs,
      albumQuietMs: defaults.albumQuietMs,
      concurrency: defaults.concurrency
    }
    return Either.right(options)
  })
)
