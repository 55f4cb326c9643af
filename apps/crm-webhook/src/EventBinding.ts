/**
 * Registers the listener with the portal (`event.bind`) and removes it (`event.unbind`), through
 * core's `OpenChannel` (the portal allows this to applications only: OAuth, not an incoming
 * webhook). `doctor` says what is missing for events to arrive and messages to go out.
 *
 * @since 0.1.0
 */
import type { OpenChannel } from "@linecast/core"
import * as Effect from "effect/Effect"
import type { CrmEventName } from "./CrmEvent.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface BindOptions {
  readonly handlerUrl: string
  readonly events: ReadonlyArray<CrmEventName>
  /** `offline`: the portal queues events for `event.offline.get` instead of POSTing them. */
  readonly mode?: "online" | "offline" | undefined
}

type Channel = OpenChannel.OpenChannel.Service

const alreadyBound = (error: { readonly description?: string }) => /already binded/i.test(error.description ?? "")

/**
 * Binds every event; an event already bound to the handler counts as bound.
 *
 * @since 0.1.0
 * @category operations
 */
export const bind = (channel: Channel, options: BindOptions) =>
  Effect.forEach(options.events, (event) =>
    channel
      .call("event.bind", {
        event,
        ...(options.mode === "offline" ? { event_type: "offline" } : { handler: options.handlerUrl })
      })
      .pipe(
        Effect.as(event),
        Effect.catchIf(
          (error) => alreadyBound(error as { readonly description?: string }),
          () => Effect.succeed(event)
        )
      )
  )

/**
 * @since 0.1.0
 * @category operations
 */
export const unbind = (channel: Channel, options: BindOptions) =>
  Effect.forEach(options.events, (event) =>
    channel.call("event.unbind", {
      event,
      ...(options.mode === "offline" ? { event_type: "offline" } : { handler: options.handlerUrl })
    })
  )

/**
 * @since 0.1.0
 * @category models
 */
export interface DoctorReport {
  readonly portalReachable: boolean
  readonly boundEvents: ReadonlyArray<string>
  readonly missingEvents: ReadonlyArray<string>
  readonly lineJoined: boolean | undefined
  readonly problems: ReadonlyArray<string>
}

/**
 * Checks that the portal answers, that the handler is bound for every event, and that the open
 * line exists (`imopenlines.network.join` answers the line's bot id when it does).
 *
 * @since 0.1.0
 * @category operations
 */
export const doctor = (channel: Channel, options: BindOptions & { readonly lineCode?: string | undefined }) =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    const time = yield* Effect.either(channel.call("server.time", {}))
    if (time._tag === "Left") problems.push(`the portal does not answer: ${time.left.message}`)
    const bound = yield* Effect.either(channel.call("event.get", {}))
    const handlers =
      bound._tag === "Right" && Array.isArray(bound.right.result)
        ? (bound.right.result as ReadonlyArray<{
            readonly event: string
            readonly handler: string
            readonly offline: number
          }>)
        : []
    if (bound._tag === "Left")
      problems.push(`events cannot be listed (an application's OAuth credentials are needed): ${bound.left.message}`)
    const boundEvents = options.events.filter((event) =>
      handlers.some(
        (handler) =>
          handler.event === event &&
          (options.mode === "offline" ? handler.offline === 1 : handler.handler === options.handlerUrl)
      )
    )
    const missingEvents = options.events.filter((event) => !boundEvents.includes(event))
    if (bound._tag === "Right" && missingEvents.length > 0) problems.push(`not bound: ${missingEvents.join(", ")}`)
    let lineJoined: boolean | undefined
    if (options.lineCode !== undefined) {
      const joined = yield* Effect.either(channel.join(options.lineCode))
      lineJoined = joined._tag === "Right"
      if (joined._tag === "Left") problems.push(`the open line cannot be used: ${joined.left.message}`)
    }
    return {
      portalReachable: time._tag === "Right",
      boundEvents,
      missingEvents,
      lineJoined,
      problems
    } satisfies DoctorReport
  })
