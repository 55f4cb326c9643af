/**
 * `linecast serve`: the CRM listener and the delivery workers, for ever. With no portal
 * configured it runs on the embedded defaults (the main job of a fresh clone): the testkit's
 * emulated portal in-process, an application installed on it, the listener bound to its CRM
 * events, SQLite under `./.linecast/`, and one command to print that makes a message appear.
 *
 * @since 0.1.0
 */
import { rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Command, Options } from "@effect/cli"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { DemoInbox } from "@linecast/console"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import { CrmListener, EventBinding, type Rules } from "@linecast/crm-webhook"
import { type DeliveryDatabase, PortalSender } from "@linecast/delivery"
import { RelayConfig, runRelay } from "@linecast/telegram-relay"
import { startPortalEmulator } from "@linecast/testkit"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as LinecastService from "../LinecastService.js"
import * as CliConfig from "./CliConfig.js"
import { CliError, fromError } from "./CliError.js"
import * as Connection from "./connection.js"
import * as ConsoleMount from "./consoleMount.js"

/** The events the demo binds, and the rules it runs. */
const demoEvents = ["ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMLEADADD"] as const

const demoRules = (lineCode: string, domain: string): Rules.RuleSet => ({
  rules: [
    {
      name: "deal-added",
      event: "ONCRMDEALADD",
      recipient: { field: "ASSIGNED_BY_ID" },
      lineCode,
      template: "New deal [b]{TITLE}[/b] ({OPPORTUNITY} {CURRENCY_ID}) is yours.",
      keyboard: [{ text: "Open the deal", link: `https://${domain}/crm/deal/details/{ID}/` }],
      policy: "digest"
    },
    {
      name: "deal-won",
      event: "ONCRMDEALUPDATE",
      filter: { STAGE_ID: "WON" },
      recipient: { field: "ASSIGNED_BY_ID" },
      lineCode,
      template: "Deal [b]{TITLE}[/b] is won.",
      policy: "digest"
    },
    { name: "new-lead", event: "ONCRMLEADADD", recipient: { userId: 1 }, lineCode, template: "New lead: {TITLE}" }
  ]
})

interface Setup {
  readonly mode: "demo" | "portal"
  readonly auth: PortalAuth.PortalAuth
  readonly database: DeliveryDatabase.DatabaseOptions
  readonly rules: Rules.RuleSet
  readonly events: Option.Option<{ readonly domain: string; readonly applicationToken: Redacted.Redacted<string> }>
  /** In demo mode: binds the listener to the emulated portal's events. */
  readonly bind: (handlerUrl: string) => Effect.Effect<void, unknown>
  readonly portalUrl: string
  readonly demo: Option.Option<{
    readonly controlUrl: string
    /** The emulated portal's inboxes and users, for the console. */
    readonly inbox: Effect.Effect<ReadonlyArray<DemoInbox.DemoInboxMessage>>
    readonly users: ReadonlyArray<DemoInbox.DemoUser>
  }>
  /** What the console must never send. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

const clients = Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), TokenStore.layerMemory())

const demoSetup = (cliConfig: CliConfig.CliConfig) =>
  Effect.gen(function* () {
    const emulator = yield* Effect.acquireRelease(
      Effect.promise(() => startPortalEmulator()),
      (running) => Effect.promise(() => running.close())
    )
    const app = emulator.control.createApp({ scopes: ["crm", "imopenlines", "im", "user"] })
    const installation = emulator.control.installApp("demo", app.clientId, 1)
    const info = emulator.control.info()
    const file = Option.getOrElse(cliConfig.sqliteFile, () => ".linecast/demo.sqlite")
    // The emulated portal is new at every start: so is the demo's database.
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true })
    const appAuth = yield* PortalAuth.oauth({
      restUrl: installation.clientEndpoint,
      clientId: app.clientId,
      clientSecret: Redacted.make(app.clientSecret),
      tokenUrl: emulator.control.oauthTokenUrl,
      initialTokens: {
        accessToken: Redacted.make(installation.accessToken),
        refreshToken: Redacted.make(installation.refreshToken)
      }
    })
    const appChannel = Context.get(
      yield* Layer.build(OpenChannel.layer({ auth: appAuth, retry: RetryPolicy.never }).pipe(Layer.provide(clients))),
      OpenChannel.OpenChannel
    )
    return {
      mode: "demo",
      auth: yield* PortalAuth.webhook(Redacted.make(emulator.webhookUrl)),
      database: { kind: "sqlite", filename: file },
      rules: demoRules(emulator.lineCode, info.domain),
      events: Option.some({ domain: info.domain, applicationToken: Redacted.make(installation.applicationToken) }),
      bind: (handlerUrl: string) =>
        Effect.asVoid(EventBinding.bind(appChannel, { handlerUrl, events: [...demoEvents] })),
      portalUrl: emulator.url,
      demo: Option.some({
        controlUrl: `${emulator.url}/_emulator`,
        inbox: Effect.sync(() =>
          emulator.control.inbox("demo").map((received) => ({
            id: received.id,
            userId: received.userId,
            lineCode: received.lineCode,
            message: received.message,
            attach: received.attach,
            keyboard: received.keyboard,
            receivedAt: received.receivedAt
          }))
        ),
        users: [...emulator.control.portal("demo").users.values()].map((user) => ({
          id: user.id,
          name: `${user.name} ${user.lastName}`
        }))
      }),
      secrets: [
        Redacted.make(emulator.webhookUrl),
        Redacted.make(app.clientSecret),
        Redacted.make(installation.accessToken),
        Redacted.make(installation.refreshToken),
        Redacted.make(installation.applicationToken)
      ]
    } satisfies Setup
  })

const portalSetup = (cliConfig: CliConfig.CliConfig) =>
  Effect.gen(function* () {
    const auth = yield* Connection.portalAuth(cliConfig)
    const events = Option.all({ domain: cliConfig.eventsDomain, applicationToken: cliConfig.applicationToken })
    return {
      mode: "portal",
      auth,
      database: Connection.database(cliConfig),
      rules: yield* Connection.rules(cliConfig),
      events,
      bind: () => Effect.void,
      portalUrl: auth._tag === "OAuth" ? auth.restUrl : `https://${auth.host}/`,
      demo: Option.none(),
      secrets: [
        ...Option.toArray(cliConfig.webhookUrl),
        ...Option.toArray(cliConfig.applicationToken),
        ...Option.toArray(cliConfig.consoleToken),
        ...Option.match(cliConfig.oauth, {
          onNone: () => [],
          onSome: (oauth) => [oauth.clientSecret, oauth.accessToken, oauth.refreshToken]
        })
      ]
    } satisfies Setup
  })

/**
 * The Telegram relay runs beside the listener when `LINECAST_TELEGRAM_BOT_TOKEN` is set (its settings in
 * `@linecast/telegram-relay`'s `RelayConfig`), on the same delivery: one runner per database. A routing
 * `lineCode` of `default` means the service's own line (`LINECAST_LINE_CODE`, or the demo's).
 */
const telegramRelay = (setup: Setup, cliConfig: CliConfig.CliConfig) =>
  Effect.gen(function* () {
    const token = yield* Config.option(Config.redacted("LINECAST_TELEGRAM_BOT_TOKEN"))
    if (Option.isNone(token)) return Option.none()
    const options = yield* RelayConfig.config
    const serviceLine = Option.orElse(cliConfig.lineCode, () => Option.fromNullable(setup.rules.rules[0]?.lineCode))
    const lineCode =
      options.routing.lineCode === "default" ? Option.getOrElse(serviceLine, () => "") : options.routing.lineCode
    return Option.some({ ...options, routing: { ...options.routing, lineCode } })
  }).pipe(Effect.mapError((error) => new CliError({ kind: "invalid", message: String(error) })))

const json = Options.boolean("json").pipe(Options.withDescription("Print one JSON line instead of the human summary"))
const consoleFlag = Options.boolean("console").pipe(
  Options.withDescription("Serve the operator console (needs LINECAST_CONSOLE_TOKEN; always on in demo mode)")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const serve = Command.make("serve", { json, console: consoleFlag }, ({ json, console: consoleRequested }) =>
  Effect.gen(function* () {
    const cliConfig = yield* CliConfig.config.pipe(
      Effect.mapError((error) => new CliError({ kind: "invalid", message: String(error) }))
    )
    const setup: Setup = CliConfig.hasPortal(cliConfig) ? yield* portalSetup(cliConfig) : yield* demoSetup(cliConfig)
    if (Option.isSome(cliConfig.runner) && setup.database.kind !== "postgres") {
      return yield* new CliError({
        kind: "invalid",
        message: "LINECAST_RUNNER_PORT needs LINECAST_DATABASE_URL: several runners share a PostgreSQL database"
      })
    }
    const service = LinecastService.layer({
      auth: setup.auth,
      database: setup.database,
      rules: setup.rules,
      delivery: { runner: Option.getOrUndefined(cliConfig.runner) }
    })
    const portals = Option.match(setup.events, {
      onNone: () => [],
      onSome: (events) => [
        { id: LinecastService.portalId, domain: events.domain, applicationToken: events.applicationToken }
      ]
    })
    const context = yield* Layer.build(service).pipe(Effect.mapError(fromError))
    // The listener's fast path: events are checked and stored with no Effect per request (see CrmListener.handler).
    const handler = yield* CrmListener.handler({ portals }).pipe(Effect.provide(context))
    const server = createServer(handler)
    const address = yield* Effect.acquireRelease(
      Effect.async<AddressInfo, CliError>((resume) => {
        server.once("error", (error) => resume(Effect.fail(new CliError({ kind: "invalid", message: error.message }))))
        server.listen(cliConfig.port, cliConfig.host, () => resume(Effect.succeed(server.address() as AddressInfo)))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const url = `http://${address.address}:${address.port}`
    const eventsUrl = `${url}/bitrix/events`
    yield* setup.bind(eventsUrl).pipe(Effect.mapError(fromError))
    const operatorConsole = yield* ConsoleMount.mount({
      cliConfig,
      requested: consoleRequested,
      mode: setup.mode,
      services: context,
      lineCodes: [
        ...new Set([...Option.toArray(cliConfig.lineCode), ...setup.rules.rules.map((rule) => rule.lineCode)])
      ],
      portals: Effect.map(
        Effect.option(Context.get(context, PortalSender.PortalSender).status(LinecastService.portalId)),
        (status) => [
          {
            id: LinecastService.portalId,
            domain: Option.getOrUndefined(Option.map(setup.events, (events) => events.domain)),
            // The limit is core's default bucket; operating time is not reported yet.
            budget: Option.getOrUndefined(Option.map(status, (found) => ({ level: found.bucketLevel, limit: 50 }))),
            breaker: Option.getOrUndefined(Option.map(status, (found) => found.breaker)),
            token: setup.auth._tag === "Webhook" ? "webhook" : undefined
          }
        ]
      ),
      demo: Option.map(setup.demo, (demo) => ({ inbox: demo.inbox, users: demo.users })),
      secrets: setup.secrets
    })
    const relay = yield* telegramRelay(setup, cliConfig).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (options) =>
            runRelay(options).pipe(
              Effect.provide(context),
              Effect.map(Option.some),
              Effect.mapError((error) => new CliError({ kind: "transient", message: error.message }))
            )
        })
      )
    )
    const demoCommand = Option.map(
      setup.demo,
      (demo) =>
        `curl -s -X POST ${demo.controlUrl}/portals/demo/crm/deal -H 'content-type: application/json' -d '{"fields":{"TITLE":"First order","OPPORTUNITY":1200,"ASSIGNED_BY_ID":2},"userId":1}'`
    )
    const inboxCommand = Option.map(setup.demo, (demo) => `curl -s '${demo.controlUrl}/portals/demo/inbox?userId=2'`)
    const database = setup.database.kind === "sqlite" ? setup.database.filename : "PostgreSQL (LINECAST_DATABASE_URL)"
    if (json) {
      yield* Console.log(
        JSON.stringify({
          mode: setup.mode,
          listener: url,
          eventsUrl,
          portal: setup.portalUrl,
          database,
          rules: setup.rules.rules.length,
          ...Option.match(operatorConsole, { onNone: () => ({}), onSome: (mounted) => ({ console: mounted.url }) }),
          ...Option.match(relay, { onNone: () => ({}), onSome: (running) => ({ telegram: running.url }) }),
          ...Option.match(demoCommand, { onNone: () => ({}), onSome: (command) => ({ demoCommand: command }) }),
          ...Option.match(inboxCommand, { onNone: () => ({}), onSome: (command) => ({ inboxCommand: command }) })
        })
      )
    } else {
      yield* Console.log(
        [
          setup.mode === "demo"
            ? "Linecast is running on the embedded defaults: an emulated Bitrix24 portal, no account needed."
            : "Linecast is running.",
          `  CRM listener  ${eventsUrl}   (health ${url}/healthz, metrics ${url}/metrics)`,
          `  portal        ${setup.portalUrl}${setup.mode === "demo" ? "   (emulated; its control API is under /_emulator/)" : ""}`,
          `  database      ${database}`,
          `  rules         ${setup.rules.rules.map((rule) => rule.name).join(", ") || "none"}`,
          ...Option.match(relay, {
            onNone: () => [],
            onSome: (running) => [`  telegram      @${running.bot.botInfo.username}   (media links ${running.url})`]
          }),
          ...Option.match(operatorConsole, {
            onNone: () => [],
            onSome: (mounted) => [
              `  console       ${mounted.url}${mounted.protected ? "   (credential: LINECAST_CONSOLE_TOKEN)" : "   (demo: no credential)"}`
            ]
          }),
          ...Option.match(demoCommand, {
            onNone: () => [],
            onSome: (command) => [
              "",
              "Add a deal in the emulated portal; its CRM event comes here and a message goes to the deal's assignee:",
              `  ${command}`,
              "Then read the assignee's inbox:",
              `  ${Option.getOrElse(inboxCommand, () => "")}`,
              ...Option.match(operatorConsole, {
                onNone: () => [],
                onSome: (mounted) => ["Or watch it go out and arrive in the console:", `  ${mounted.url}#/inbox`]
              })
            ]
          }),
          "",
          "Ctrl-C stops it; work in flight resumes at the next start."
        ].join("\n")
      )
    }
    return yield* Effect.never
  }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run the CRM listener and the delivery workers (on an emulated portal when none is configured)"
  )
)
