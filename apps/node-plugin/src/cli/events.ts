/**
 * `linecast bind`, `linecast unbind` and `linecast doctor`: register the CRM listener with the
 * portal (an application's OAuth credentials are needed: the portal refuses `event.bind` to an
 * incoming webhook), remove it, and check that everything needed is in place.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { OpenChannel } from "@linecast/core"
import { CrmEvent, EventBinding } from "@linecast/crm-webhook"
import { Outbox } from "@linecast/delivery"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CliConfig from "./CliConfig.js"
import { CliError } from "./CliError.js"
import { withService } from "./withService.js"

const handler = Options.text("handler").pipe(
  Options.withDescription("The listener's public URL, e.g. https://linecast.example/bitrix/events")
)
const events = Options.text("events").pipe(
  Options.withDefault("ONCRMDEALADD,ONCRMDEALUPDATE,ONCRMLEADADD,ONCRMCONTACTADD"),
  Options.withDescription("Comma-separated CRM events")
)
const offline = Options.boolean("offline").pipe(Options.withDescription("Bind as offline events (no-loss mode)"))
const json = Options.boolean("json")

const loadConfig = CliConfig.config.pipe(
  Effect.mapError((error) => new CliError({ kind: "invalid", message: String(error) }))
)

const eventList = (text: string) =>
  Effect.forEach(
    text
      .split(",")
      .map((name) => name.trim().toUpperCase())
      .filter((name) => name !== ""),
    (name) =>
      CrmEvent.isCrmEvent(name)
        ? Effect.succeed(name)
        : Effect.fail(new CliError({ kind: "invalid", message: `Unknown CRM event: ${name}` }))
  )

const binding = (name: "bind" | "unbind") =>
  Command.make(name, { handler, events, offline, json }, (options) =>
    Effect.gen(function* () {
      const names = yield* eventList(options.events)
      const bindOptions = {
        handlerUrl: options.handler,
        events: names,
        mode: options.offline ? "offline" : "online"
      } as const
      const done = yield* withService(yield* loadConfig, () =>
        Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
          name === "bind"
            ? EventBinding.bind(channel, bindOptions)
            : Effect.as(EventBinding.unbind(channel, bindOptions), names)
        )
      )
      yield* Console.log(
        options.json
          ? JSON.stringify({ [name === "bind" ? "bound" : "unbound"]: done })
          : `${name === "bind" ? "bound" : "unbound"}: ${done.join(", ")}`
      )
    })
  ).pipe(
    Command.withDescription(
      name === "bind" ? "Register the listener for CRM events (event.bind)" : "Remove the listener (event.unbind)"
    )
  )

/**
 * @since 0.1.0
 * @category commands
 */
export const bind = binding("bind")

/**
 * @since 0.1.0
 * @category commands
 */
export const unbind = binding("unbind")

/**
 * @since 0.1.0
 * @category commands
 */
export const doctor = Command.make(
  "doctor",
  { handler: handler.pipe(Options.optional), events, offline, json },
  (options) =>
    Effect.gen(function* () {
      const cliConfig = yield* loadConfig
      const names = yield* eventList(options.events)
      const report = yield* withService(cliConfig, () =>
        Effect.gen(function* () {
          const channel = yield* OpenChannel.OpenChannel
          const database = yield* Effect.either(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({ limit: 1 })))
          const portal = yield* EventBinding.doctor(channel, {
            handlerUrl: Option.getOrElse(options.handler, () => ""),
            events: names,
            mode: options.offline ? "offline" : "online",
            lineCode: Option.getOrUndefined(cliConfig.lineCode)
          })
          const problems = [
            ...(database._tag === "Left" ? [`the database does not answer: ${database.left.message}`] : []),
            ...portal.problems
          ]
          return { ...portal, database: database._tag === "Right", problems }
        })
      )
      if (options.json) yield* Console.log(JSON.stringify(report))
      else {
        yield* Console.log(
          [
            `portal reachable   ${report.portalReachable ? "yes" : "NO"}`,
            `database           ${report.database ? "ok" : "DOWN"}`,
            `open line          ${report.lineJoined === undefined ? "not checked (no LINECAST_LINE_CODE)" : report.lineJoined ? "ok" : "NOT usable"}`,
            `events bound       ${report.boundEvents.join(", ") || "none"}`,
            ...report.problems.map((problem) => `problem: ${problem}`)
          ].join("\n")
        )
      }
      if (report.problems.length > 0)
        return yield* new CliError({ kind: "failed", message: `${report.problems.length} problem(s) found` })
    })
).pipe(
  Command.withDescription("Check the portal, the credentials' rights, the open line, the handler and the database")
)
