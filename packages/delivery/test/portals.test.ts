import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Outbox } from "../src/Outbox.js"
import type { OutboxEntry } from "../src/OutboxEntry.js"
import { PortalChannels } from "../src/PortalChannels.js"
import { PortalSender } from "../src/PortalSender.js"
import { PortalState } from "../src/PortalState.js"
import { channelsFor, deliverySuite, freshDatabase, startDelivery, waitFor } from "./harness.js"

const suite = deliverySuite()

const users = Array.from({ length: 120 }, (_, index) => ({ id: index + 1, name: `User ${index + 1}` }))

const enqueueAll = (portal: string, count: number, prefix: string) =>
  suite.runtime!.runPromise(
    Effect.flatMap(Outbox, (outbox) =>
      Effect.forEach(
        Array.from({ length: count }, (_, index) => index + 1),
        (userId) =>
          outbox.enqueue(
            { lineCode: suite.emulator.control.info(portal).lineCodes[0]!, userId, message: `${prefix} ${userId}` },
            { portal, idempotencyKey: `${prefix}-${userId}` }
          ),
        { concurrency: 16 }
      )
    )
  )

/** The channels, counting how often each portal's channel was asked for: once each time a holder is made. */
const counted = (channels: Layer.Layer<PortalChannels>, made: Map<string, number>) =>
  Layer.effect(
    PortalChannels,
    Effect.map(PortalChannels, (inner) =>
      PortalChannels.of({
        ...inner,
        channel: (portal) =>
          Effect.suspend(() => {
            made.set(portal, (made.get(portal) ?? 0) + 1)
            return inner.channel(portal)
          })
      })
    )
  ).pipe(Layer.provide(channels))

const waitAll = (entries: ReadonlyArray<{ readonly entry: OutboxEntry }>, timeoutMs = 60_000) =>
  Promise.all(
    entries.map(({ entry }) => waitFor(suite.runtime!, entry.id, (found) => found.state === "sent", timeoutMs))
  )

describe("the portal entity", () => {
  it("packs what the bucket makes wait into batch calls, and never overruns the bucket", async () => {
    suite.emulator.control.createPortal({
      id: "bulk",
      users,
      webhooks: [{ userId: 1 }],
      lines: [{}],
      bucket: { limit: 10, drainPerSecond: 5 }
    })
    suite.runtime = startDelivery(
      suite.emulator,
      await freshDatabase("sqlite"),
      {},
      // The emulator shares this busy process: a stall bunches up its arrivals whatever the sender did, so
      // core keeps more than its usual 250 ms of headroom here (what is tested is the packing).
      channelsFor(suite.emulator, [{ id: "bulk", bucket: { limit: 10, drainPerSecond: 5, headroom: 4 } }])
    )
    const entries = await enqueueAll("bulk", users.length, "Bulk")
    await waitAll(entries)
    const counters = suite.emulator.control.counters("bulk")
    expect(counters.accepted).toBe(users.length)
    expect(counters.rejected.QUERY_LIMIT_EXCEEDED ?? 0).toBe(0)
    expect(counters.calls.batch ?? 0).toBeGreaterThan(0)
    // 120 messages in far fewer calls than messages.
    expect(counters.requests).toBeLessThan(users.length / 3)
    for (const user of users) expect(suite.emulator.control.inbox("bulk", user.id)).toHaveLength(1)
  })

  it("opens its circuit breaker on a failing portal, refuses without calling it, and closes when it recovers", async () => {
    suite.emulator.control.createPortal({
      id: "flaky",
      users: users.slice(0, 8),
      webhooks: [{ userId: 1 }],
      lines: [{}],
      faults: { serverErrorRate: 1 }
    })
    suite.runtime = startDelivery(
      suite.emulator,
      await freshDatabase("sqlite"),
      {
        portals: { breaker: { failureThreshold: 3, openMs: 300, maxOpenMs: 600 }, maxBatch: 1 },
        retries: { retryDelaysMs: Array.from({ length: 40 }, () => 100), reconcileAttempts: 40 }
      },
      channelsFor(suite.emulator, [{ id: "flaky" }])
    )
    const entries = await enqueueAll("flaky", 8, "Flaky")
    const status = () => suite.runtime!.runPromise(Effect.flatMap(PortalSender, (sender) => sender.status("flaky")))
    const deadline = Date.now() + 20_000
    while ((await status()).breaker === "closed") {
      if (Date.now() > deadline) throw new Error("the breaker never opened")
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // Refused by the breaker, not by the portal: nothing was sent.
    const refused = await suite.runtime.runPromise(
      Effect.flatMap(Outbox, (outbox) =>
        Effect.repeat(outbox.list({ portal: "flaky" }), {
          until: (found) => found.some((entry) => entry.lastError?.code === "PORTAL_UNAVAILABLE"),
          times: 200
        }).pipe(Effect.zipLeft(Effect.sleep("20 millis")))
      )
    )
    expect(refused.some((entry) => entry.lastError?.code === "PORTAL_UNAVAILABLE")).toBe(true)

    suite.emulator.control.configure("flaky", { faults: {} })
    await waitAll(entries)
    expect((await status()).breaker).toBe("closed")
    for (const user of users.slice(0, 8)) expect(suite.emulator.control.inbox("flaky", user.id)).toHaveLength(1)
  })

  it("sends an attempt that reaches the holder twice once, and answers both copies", async () => {
    const portal = suite.emulator.control.createPortal({
      users,
      webhooks: [{ userId: 1 }],
      lines: [{}],
      bucket: { limit: 2, drainPerSecond: 1 }
    })
    suite.runtime = startDelivery(
      suite.emulator,
      await freshDatabase("sqlite"),
      {},
      channelsFor(suite.emulator, [{ id: portal.id, bucket: { limit: 2, drainPerSecond: 1 } }])
    )
    const message = { lineCode: portal.lineCodes[0]!, userId: 7, message: "only once" }
    // Two busy calls first, so that the copies wait in the holder's queue and are packed together.
    const answers = await suite.runtime.runPromise(
      Effect.flatMap(PortalSender, (sender) =>
        Effect.all(
          [
            sender.send(portal.id, "filler/0/1", { ...message, userId: 1, message: "filler 1" }),
            sender.send(portal.id, "filler/0/2", { ...message, userId: 2, message: "filler 2" }),
            sender.send(portal.id, "twice/0/1", message),
            sender.send(portal.id, "twice/0/1", message)
          ],
          { concurrency: "unbounded" }
        )
      )
    )
    expect(answers[2]!.requestId).toBe(answers[3]!.requestId)
    expect(suite.emulator.control.inbox(portal.id, 7).map((entry) => entry.message)).toEqual(["only once"])
  })

  it("on a single runner, holds a portal in place: made once for sends that come together, put away when idle", async () => {
    const portal = suite.emulator.control.createPortal({ users, webhooks: [{ userId: 1 }], lines: [{}] })
    const made = new Map<string, number>()
    suite.runtime = startDelivery(
      suite.emulator,
      await freshDatabase("sqlite"),
      { sharding: { entityMaxIdleTime: "300 millis" } },
      counted(channelsFor(suite.emulator, [{ id: portal.id }]), made)
    )
    const sendAll = (userIds: ReadonlyArray<number>, prefix: string) =>
      suite.runtime!.runPromise(
        Effect.flatMap(PortalSender, (sender) =>
          Effect.all(
            userIds.map((userId) =>
              sender.send(portal.id, `${prefix}/0/${userId}`, {
                lineCode: portal.lineCodes[0]!,
                userId,
                message: `${prefix} ${userId}`
              })
            ),
            { concurrency: "unbounded" }
          )
        )
      )
    await sendAll([1, 2, 3], "together")
    expect(made.get(portal.id)).toBe(1)
    // Unused for longer than the engine keeps an idle entity (looked at every half of it): put away, its bucket
    // written down for the next holder; the next send makes a new one.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const saved = await suite.runtime.runPromise(Effect.flatMap(PortalState, (state) => state.bucket(portal.id)))
    expect(saved).toBeDefined()
    await sendAll([4], "later")
    expect(made.get(portal.id)).toBe(2)
    for (const userId of [1, 2, 3, 4]) expect(suite.emulator.control.inbox(portal.id, userId)).toHaveLength(1)
  })

  it("answers for a portal nobody configured with a permanent error", async () => {
    suite.runtime = startDelivery(suite.emulator, await freshDatabase("sqlite"), {}, channelsFor(suite.emulator, []))
    const { entry } = await suite.runtime.runPromise(
      Effect.flatMap(Outbox, (outbox) =>
        outbox.enqueue(
          { lineCode: suite.emulator.lineCode, userId: 2, message: "Nowhere" },
          { portal: "nowhere", idempotencyKey: "nowhere-1" }
        )
      )
    )
    const dead = await waitFor(suite.runtime, entry.id, (found) => found.state === "dead")
    expect(dead.lastError?.tag).toBe("UnknownPortalError")
    const status = await suite.runtime.runPromise(Effect.flatMap(PortalSender, (sender) => sender.status("nowhere")))
    expect(status.known).toBe(false)
  })
})
