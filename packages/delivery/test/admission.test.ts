import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Admission } from "../src/Admission.js"
import { Outbox } from "../src/Outbox.js"
import type { Database } from "./harness.js"
import { channelsFor, deliverySuite, freshDatabase, startDelivery, waitFor } from "./harness.js"

const suite = deliverySuite()

const backlog = 30
const perPortal = 5
const users = Array.from({ length: backlog }, (_, index) => ({ id: index + 1, name: `User ${index + 1}` }))

for (const kind of ["sqlite", "postgres"] as const satisfies ReadonlyArray<Database>) {
  describe(`admission control (${kind})`, () => {
    it("runs at most its share of a portal's backlog at once, and a quiet portal is not stuck behind it", async () => {
      const slow = suite.emulator.control.createPortal({
        users,
        webhooks: [{ userId: 1 }],
        lines: [{}],
        bucket: { limit: 2, drainPerSecond: 4 }
      })
      const quiet = suite.emulator.control.createPortal({ users, webhooks: [{ userId: 1 }], lines: [{}] })
      suite.runtime = startDelivery(
        suite.emulator,
        await freshDatabase(kind),
        // One message a call: the slow portal takes ~4 a second, so its backlog waits a few seconds.
        { outbox: { admittedPerPortal: perPortal, admittedTotal: 50 }, portals: { maxBatch: 1 } },
        channelsFor(suite.emulator, [
          { id: slow.id, bucket: { limit: 2, drainPerSecond: 4 } },
          { id: quiet.id, bucket: { limit: 50, drainPerSecond: 2 } }
        ])
      )
      const enqueue = (portal: string, lineCode: string, userId: number, key: string) =>
        suite.runtime!.runPromise(
          Effect.flatMap(Outbox, (outbox) =>
            outbox.enqueue({ lineCode, userId, message: `to ${key}` }, { portal, idempotencyKey: key })
          )
        )
      const entries = []
      for (const user of users) entries.push(await enqueue(slow.id, slow.lineCodes[0]!, user.id, `slow-${user.id}`))
      const other = await enqueue(quiet.id, quiet.lineCodes[0]!, 1, "quiet-1")

      // Watch admission while the backlog drains.
      let mostAdmitted = 0
      let mostWaiting = 0
      let watching = true
      const watcher = (async () => {
        while (watching) {
          const counts = await suite.runtime!.runPromise(Effect.flatMap(Admission, (admission) => admission.counts))
          mostAdmitted = Math.max(mostAdmitted, counts.admitted)
          mostWaiting = Math.max(mostWaiting, counts.waiting)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()

      await waitFor(suite.runtime, other.entry.id, (entry) => entry.state === "sent", 30_000)
      const slowSentWhenQuietWas = suite.emulator.control.counters(slow.id).accepted
      for (const { entry } of entries) await waitFor(suite.runtime, entry.id, (found) => found.state === "sent", 60_000)
      watching = false
      await watcher

      // The quiet portal's message did not wait for the slow portal's backlog.
      expect(slowSentWhenQuietWas).toBeLessThan(backlog)
      // The backlog waited as rows, never more than the portal's share running (plus the quiet portal's one).
      expect(mostWaiting).toBeGreaterThan(0)
      expect(mostAdmitted).toBeLessThanOrEqual(perPortal + 1)
      expect(mostAdmitted).toBeGreaterThan(0)
      expect(suite.emulator.control.counters(slow.id).accepted).toBe(backlog)
      for (const user of users) expect(suite.emulator.control.inbox(slow.id, user.id)).toHaveLength(1)
      await expect
        .poll(() => suite.runtime!.runPromise(Effect.flatMap(Admission, (admission) => admission.counts)))
        .toEqual({ waiting: 0, admitted: 0 })
    })
  })
}
