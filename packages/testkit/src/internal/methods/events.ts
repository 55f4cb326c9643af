/**
 * `event.bind`, `event.unbind`, `event.get` and the offline queue (`event.offline.get`, `.list`,
 * `.clear`, `.error`), as `Bitrix\Rest\Api\Event` does them: for applications only (an incoming
 * webhook gets `WRONG_AUTH_TYPE`, settled from the server's code), checks in the server's order.
 */
import { crmEventName } from "../../Crm.js"
import type { OfflineEvent } from "../../PortalEvents.js"
import { intval, isEmpty, isPhpArray, phpValues, stringOf, trim, upperKeys } from "../php.js"
import { RestError, systemErrors } from "../restError.js"
import type { Auth, Method, MethodContext } from "./method.js"

const crmEvents = (["deal", "contact", "lead"] as const).flatMap((entity) =>
  (["ADD", "UPDATE", "DELETE"] as const).map((change) => crmEventName(entity, change))
)

/** The application calling, or `WRONG_AUTH_TYPE` for any other kind of auth. */
const application = (auth: Auth) => {
  if (auth.type !== "oauth") throw systemErrors.wrongAuthType()
  return { clientId: auth.credential.replace(/^app:/, ""), userId: auth.userId, scopes: auth.scopes }
}

const eventType = (value: unknown): "online" | "offline" => {
  const type = isEmpty(value) ? "online" : stringOf(value).toLowerCase()
  if (type !== "online" && type !== "offline") {
    throw new RestError("ERROR_ARGUMENT", "Value must be one of {online|offline}", 400, { argument: "EVENT_TYPE" })
  }
  return type
}

const idList = (value: unknown): Array<string> =>
  value === undefined || value === null ? [] : isPhpArray(value) ? phpValues(value).map(String) : [String(value)]

const bind: Method = {
  scope: "_global",
  run: ({ portal, auth, params }) => {
    const app = application(auth)
    const query = upperKeys(params)
    const event = trim(stringOf(query.EVENT ?? null)).toUpperCase()
    const type = eventType(query.EVENT_TYPE)
    if (event === "") throw systemErrors.argumentNull("EVENT")
    const handler = trim(stringOf(query.HANDLER ?? null))
    if (type === "online" && handler === "") throw systemErrors.argumentNull("HANDLER")
    const isAdmin = portal.users.get(app.userId)?.admin === true
    if (type === "offline" && !isAdmin) {
      throw new RestError(
        "ACCESS_DENIED",
        "Access denied! Offline events binding requires administrator access rights",
        403
      )
    }
    const authType = intval(query.AUTH_TYPE ?? 0)
    if (authType > 0 && authType !== app.userId && !isAdmin) {
      throw new RestError(
        "ACCESS_DENIED",
        "Access denied! Event binding for another user requires administrator access rights",
        403
      )
    }
    if (!crmEvents.includes(event) || !app.scopes.includes("crm")) {
      throw new RestError("ERROR_EVENT_NOT_FOUND", "Event not found", 400)
    }
    const stored = portal.events.bind({
      event,
      handler: type === "offline" ? "" : handler,
      clientId: app.clientId,
      authType,
      offline: type === "offline"
    })
    if (stored === undefined) throw new RestError("ERROR_CORE", "Handler already binded", 400)
    return true
  }
}

const unbind: Method = {
  scope: "_global",
  run: ({ portal, auth, params }) => {
    const app = application(auth)
    const query = upperKeys(params)
    const event = trim(stringOf(query.EVENT ?? null)).toUpperCase()
    if (event === "") throw systemErrors.argumentNull("EVENT")
    const type = eventType(query.EVENT_TYPE)
    const count = portal.events.unbind(app.clientId, event, trim(stringOf(query.HANDLER ?? null)), type === "offline")
    return { count }
  }
}

const get: Method = {
  scope: "_global",
  run: ({ portal, auth }) => {
    const app = application(auth)
    return portal.events.bindings
      .filter((binding) => binding.clientId === app.clientId)
      .map((binding) => ({
        event: binding.event,
        handler: binding.handler,
        auth_type: String(binding.authType),
        offline: binding.offline ? 1 : 0
      }))
  }
}

const visible = (event: OfflineEvent) => {
  const { clientId: _clientId, ...shown } = event
  return shown
}

/** The app's queued events that a call may see: not in another process, of the asked error state. */
const queueOf = ({ portal, auth }: MethodContext, query: Record<string, unknown>) => {
  const app = application(auth)
  const wantErrors = intval(query.ERROR ?? 0) === 1
  const processId = query.PROCESS_ID === undefined ? "" : stringOf(query.PROCESS_ID)
  return portal.events.offline.filter(
    (event) =>
      event.clientId === app.clientId &&
      (event.PROCESS_ID === "" || event.PROCESS_ID === processId) &&
      (event.ERROR === 1) === wantErrors
  )
}

const offlineGet: Method = {
  scope: "_global",
  run: (context) => {
    const query = upperKeys(context.params)
    const limit = Math.min(Math.max(intval(query.LIMIT ?? 50), 1), 1000)
    const clear = query.CLEAR === undefined ? true : intval(query.CLEAR) === 1
    const taken = queueOf(context, query).slice(0, limit)
    const processId = clear ? "" : Math.random().toString(36).slice(2, 14)
    const events = taken.map(visible)
    const queue = context.portal.events.offline
    for (const event of taken) {
      if (clear) queue.splice(queue.indexOf(event), 1)
      else event.PROCESS_ID = processId
    }
    return { process_id: processId, events }
  }
}

const offlineList: Method = {
  scope: "_global",
  run: ({ portal, auth, params }) => {
    const app = application(auth)
    const start = Math.max(0, intval(upperKeys(params).START ?? 0))
    return portal.events.offline
      .filter((event) => event.clientId === app.clientId)
      .slice(start, start + 50)
      .map(visible)
  }
}

/** Removes (`clear`) or marks as failed (`error`) the events a process took. */
const settle = (mark: "clear" | "error"): Method => ({
  scope: "_global",
  run: ({ portal, auth, params }) => {
    const app = application(auth)
    const query = upperKeys(params)
    if (isEmpty(query.PROCESS_ID)) throw systemErrors.argumentNull("PROCESS_ID")
    const processId = stringOf(query.PROCESS_ID)
    const ids = idList(query.ID)
    const messageIds = idList(query.MESSAGE_ID)
    const queue = portal.events.offline
    const chosen = queue.filter(
      (event) =>
        event.clientId === app.clientId &&
        event.PROCESS_ID === processId &&
        (ids.length === 0 || ids.includes(String(event.ID))) &&
        (messageIds.length === 0 || messageIds.includes(event.MESSAGE_ID))
    )
    for (const event of chosen) {
      if (mark === "clear") queue.splice(queue.indexOf(event), 1)
      else {
        event.ERROR = 1
        event.PROCESS_ID = ""
      }
    }
    return true
  }
})

export const eventMethods: ReadonlyArray<readonly [string, Method]> = [
  ["event.bind", bind],
  ["event.unbind", unbind],
  ["event.get", get],
  ["event.offline.get", offlineGet],
  ["event.offline.list", offlineList],
  ["event.offline.clear", settle("clear")],
  ["event.offline.error", settle("error")]
]
