/**
 * The portal side of a run: the emulator with one user per deal (the weekly rule then never holds a
 * message back, so each accepted event must give exactly one message), a rules file, and events
 * POSTed as a portal POSTs them (form-encoded, bracketed keys), so that the test knows which ones
 * the listener accepted.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type RunningPortalEmulator, startPortalEmulator } from "@linecast/testkit"

export interface CrmPortal {
  readonly emulator: RunningPortalEmulator
  readonly domain: string
  readonly applicationToken: string
  readonly folder: string
  readonly rulesFile: string
  /** The environment for `linecast serve` against this portal. */
  readonly env: (database: Record<string, string>) => Record<string, string>
  /** Adds a deal assigned to a new user of its own; returns its id and the message it must produce. */
  readonly addDeal: (title: string) => { readonly id: string; readonly userId: number; readonly text: string }
  /** The secrets in use, for the scan. */
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly value: string }>
}

let nextUser = 1000

export const startCrmPortal = async (): Promise<CrmPortal> => {
  const emulator = await startPortalEmulator()
  const domain = emulator.control.info().domain
  const applicationToken = randomBytes(16).toString("hex")
  const folder = mkdtempSync(join(tmpdir(), "linecast-reliability-"))
  const rulesFile = join(folder, "rules.json")
  writeFileSync(
    rulesFile,
    JSON.stringify({
      rules: [
        {
          name: "deal-added",
          event: "ONCRMDEALADD",
          recipient: { field: "ASSIGNED_BY_ID" },
          lineCode: emulator.lineCode,
          template: "Deal {TITLE} is yours",
          policy: "reject"
        }
      ]
    })
  )
  const portal = emulator.control.portal("demo")
  return {
    emulator,
    domain,
    applicationToken,
    folder,
    rulesFile,
    env: (database) => ({
      LINECAST_WEBHOOK_URL: emulator.webhookUrl,
      LINECAST_LINE_CODE: emulator.lineCode,
      LINECAST_RULES: rulesFile,
      LINECAST_EVENTS_DOMAIN: domain,
      LINECAST_APPLICATION_TOKEN: applicationToken,
      LINECAST_HOST: "127.0.0.1",
      ...database
    }),
    addDeal: (title) => {
      const userId = nextUser++
      portal.addUser({ id: userId })
      const id = portal.crm.add("deal", { TITLE: title, ASSIGNED_BY_ID: userId })
      return { id, userId, text: `Deal ${title} is yours` }
    },
    secrets: [
      { name: "webhook code", value: new URL(emulator.webhookUrl).pathname.split("/")[3]! },
      { name: "application token", value: applicationToken }
    ]
  }
}

/** An event body as a portal writes it (PHP's `http_build_query`). */
export const eventBody = (
  portal: Pick<CrmPortal, "domain" | "applicationToken">,
  options: { readonly event?: string; readonly id: string; readonly ts?: number; readonly token?: string }
): string =>
  new URLSearchParams({
    event: options.event ?? "ONCRMDEALADD",
    event_handler_id: "181",
    "data[FIELDS][ID]": options.id,
    ts: String(options.ts ?? Math.floor(Date.now() / 1000)),
    "auth[domain]": portal.domain,
    "auth[member_id]": "0123456789abcdef0123456789abcdef",
    "auth[application_token]": options.token ?? portal.applicationToken
  }).toString()

/** POSTs one event; the status, or 0 when the connection failed (a killed listener). */
export const postEvent = async (url: string, body: string, timeoutMs = 5_000): Promise<number> => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(timeoutMs)
    })
    await response.arrayBuffer()
    return response.status
  } catch {
    return 0
  }
}
