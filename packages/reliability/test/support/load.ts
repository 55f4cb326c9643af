/** A steady stream of CRM events (a new deal each), bounded in count and time, and the exactly-once check. */

import { eventually, sleep } from "./chaos.js"
import type { CrmPortal } from "./crm.js"
import { eventBody, postEvent } from "./crm.js"

export interface SentEvent {
  readonly dealId: string
  readonly userId: number
  readonly text: string
  readonly status: number
}

/** Posts one event every `everyMs` to `target()` until `stop()` or `max` events. */
export const streamEvents = async (
  portal: CrmPortal,
  target: () => string | undefined,
  options: { readonly everyMs: number; readonly max: number; readonly stop: () => boolean; readonly label: string }
): Promise<ReadonlyArray<SentEvent>> => {
  const sent: Array<SentEvent> = []
  for (let index = 0; index < options.max && !options.stop(); index++) {
    const url = target()
    const deal = portal.addDeal(`${options.label}-${index}`)
    const status = url === undefined ? 0 : await postEvent(url, eventBody(portal, { id: deal.id }))
    sent.push({ dealId: deal.id, userId: deal.userId, text: deal.text, status })
    await sleep(options.everyMs)
  }
  return sent
}

export interface Tally {
  readonly accepted: number
  readonly delivered: number
  readonly lost: number
  readonly duplicated: number
  /** Messages for events whose acknowledgement the crash swallowed (stored, but the 200 never arrived). */
  readonly deliveredUnacknowledged: number
  /** Resends the portal refused under the weekly rule: each one a reconciliation, not a second message. */
  readonly weeklyRuleRefusals: number
}

/** Waits (bounded) until every accepted event's message is in the inbox, then counts. */
export const tally = async (portal: CrmPortal, sent: ReadonlyArray<SentEvent>, timeoutMs: number): Promise<Tally> => {
  const control = portal.emulator.control
  const accepted = sent.filter((event) => event.status === 200)
  const received = () => {
    const byUser = new Map<number, Array<string>>()
    for (const message of control.inbox("demo")) {
      byUser.set(message.userId, [...(byUser.get(message.userId) ?? []), message.message])
    }
    return byUser
  }
  await eventually(
    () => accepted.every((event) => (received().get(event.userId)?.length ?? 0) > 0),
    "every accepted event's message",
    timeoutMs
  ).catch(() => undefined)
  const byUser = received()
  const messages = (event: SentEvent) => byUser.get(event.userId) ?? []
  let duplicated = 0
  for (const [, texts] of byUser) duplicated += texts.length - 1
  return {
    accepted: accepted.length,
    delivered: accepted.filter((event) => messages(event).includes(event.text)).length,
    lost: accepted.filter((event) => !messages(event).includes(event.text)).length,
    duplicated,
    deliveredUnacknowledged: sent.filter((event) => event.status !== 200 && messages(event).length > 0).length,
    weeklyRuleRefusals: control.counters("demo").rejected.USER_MESSAGE_LIMIT ?? 0
  }
}
