/**
 * A portal's outbound events: handlers bound with `event.bind` (online: POSTed once, never
 * retried; offline: stored for `event.offline.get`), and the offline queue with its processing
 * marks. Delivery itself (the HTTP POST) is the emulator's: see `Emulator.raiseEvent`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * @since 0.1.0
 * @category models
 */
export interface EventBinding {
  /** `event_handler_id` in every delivery. */
  readonly id: number
  readonly event: string
  /** The handler URL; empty for offline bindings. */
  readonly handler: string
  readonly clientId: string
  /** The user on whose behalf events are delivered (0: the one who raised the event). */
  readonly authType: number
  readonly offline: boolean
}

/**
 * An event waiting in the offline queue, in `event.offline.get`'s shape.
 *
 * @since 0.1.0
 * @category models
 */
export interface OfflineEvent {
  readonly ID: number
  TIMESTAMP_X: string
  readonly EVENT_NAME: string
  readonly EVENT_DATA: { readonly FIELDS: { readonly ID: string } }
  EVENT_ADDITIONAL: { readonly user_id: number }
  /** Equal for the same event on the same record: an unprocessed repeat merges into one. */
  readonly MESSAGE_ID: string
  PROCESS_ID: string
  ERROR: number
  readonly clientId: string
}

/**
 * @since 0.1.0
 * @category models
 */
export class PortalEvents {
  readonly bindings: Array<EventBinding> = []
  readonly offline: Array<OfflineEvent> = []
  private nextBinding = 180
  private nextOffline = 1

  bind(binding: Omit<EventBinding, "id">): EventBinding | undefined {
    const duplicate = this.bindings.some(
      (existing) =>
        existing.clientId === binding.clientId &&
        existing.event === binding.event &&
        existing.handler === binding.handler &&
        existing.offline === binding.offline
    )
    if (duplicate) return undefined
    const stored = { ...binding, id: this.nextBinding++ }
    this.bindings.push(stored)
    return stored
  }

  unbind(clientId: string, event: string, handler: string, offline: boolean): number {
    let count = 0
    for (let index = this.bindings.length - 1; index >= 0; index--) {
      const binding = this.bindings[index]!
      if (binding.clientId === clientId && binding.event === event && binding.offline === offline) {
        if (offline || handler === "" || binding.handler === handler) {
          this.bindings.splice(index, 1)
          count++
        }
      }
    }
    return count
  }

  /** Queues an event for an offline binding; a repeat not yet taken for processing merges. */
  store(binding: EventBinding, event: string, id: string, userId: number, now: number): void {
    const messageId = createHash("md5").update(`${event}|${id}`).digest("hex")
    const timestamp = new Date(now).toISOString()
    const waiting = this.offline.find(
      (item) => item.MESSAGE_ID === messageId && item.clientId === binding.clientId && item.PROCESS_ID === ""
    )
    if (waiting !== undefined) {
      waiting.TIMESTAMP_X = timestamp
      waiting.EVENT_ADDITIONAL = { user_id: userId }
      return
    }
    this.offline.push({
      ID: this.nextOffline++,
      TIMESTAMP_X: timestamp,
      EVENT_NAME: event,
      EVENT_DATA: { FIELDS: { ID: id } },
      EVENT_ADDITIONAL: { user_id: userId },
      MESSAGE_ID: messageId,
      PROCESS_ID: "",
      ERROR: 0,
      clientId: binding.clientId
    })
  }

  reset(): void {
    this.offline.length = 0
  }
}
