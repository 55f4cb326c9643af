/**
 * The no-loss mode: instead of (or besides) waiting for POSTs that a portal sends at most once,
 * fetch the events the portal queued for offline handlers (`event.offline.get` with `clear=0`),
 * store them in the inbox, and only then clear them (`event.offline.clear`): an event is cleared
 * from the portal only once it is stored here. Both modes can run together: the outbox's
 * idempotency keys keep a change seen twice from becoming two messages.
 *
 * @since 0.1.0
 */
import type { OpenChannel } from "@linecast/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { EventInbox } from "./EventInbox.js"
import { EventProcessor } from "./EventProcessor.js"

interface OfflineEvent {
  readonly ID: number
  readonly EVENT_NAME: string
  readonly TIMESTAMP_X: string
  readonly EVENT_DATA?: { readonly FIELDS?: { readonly ID?: string | number } }
}

/**
 * Fetches, stores and clears one page of offline events; answers how many were stored.
 *
 * @since 0.1.0
 * @category operations
 */
export const pollOnce = (channel: OpenChannel.OpenChannel.Service, portal: string, limit = 50) =>
  Effect.gen(function* () {
    const inbox = yield* EventInbox
    const taken = yield* channel.call("event.offline.get", { clear: 0, limit })
    const page = (taken.result ?? {}) as { readonly process_id?: string; readonly events?: ReadonlyArray<OfflineEvent> }
    const events = page.events ?? []
    if (events.length === 0) return 0
    const now = yield* Clock.currentTimeMillis
    let stored = 0
    for (const event of events) {
      const entityId = String(event.EVENT_DATA?.FIELDS?.ID ?? "")
      const ts = Math.floor(Date.parse(event.TIMESTAMP_X) / 1000)
      const added = yield* inbox.add({
        id: `${portal}:offline:${event.EVENT_NAME}:${entityId}:${event.ID}:${Number.isFinite(ts) ? ts : 0}`,
        portal,
        event: event.EVENT_NAME.toUpperCase(),
        entityId,
        ts: Number.isFinite(ts) ? ts : 0,
        source: "offline",
        receivedAt: now
      })
      if (added) stored++
    }
    yield* channel.call("event.offline.clear", {
      process_id: page.process_id ?? "",
      id: events.map((event) => event.ID)
    })
    return stored
  })

/**
 * Polls for ever: each page is stored, cleared and handed to the processor; a failed poll (the
 * portal down, say) is logged and tried again at the next interval, losing nothing (the portal
 * keeps what was not cleared).
 *
 * @since 0.1.0
 * @category operations
 */
export const pollForever = (
  channel: OpenChannel.OpenChannel.Service,
  portal: string,
  interval: Duration.DurationInput = "5 seconds"
) =>
  Effect.gen(function* () {
    const processor = yield* EventProcessor
    const once = pollOnce(channel, portal).pipe(
      Effect.tap((stored) => (stored > 0 ? processor.wake : Effect.void)),
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning("offline events not fetched", { reason: error.message }), 0)
      )
    )
    return yield* Effect.forever(Effect.zipRight(once, Effect.sleep(Duration.decode(interval))))
  })
