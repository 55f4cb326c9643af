/**
 * Database faults on SQLite: the file on a small tmpfs of the test's own, filled to its last page in
 * the middle of a stream of enqueues (delivery in this process) and of CRM events (`linecast serve`),
 * then grown again; and the file system read-only. A refused write is a clear, typed error (an
 * `OutboxStorageError`, or the listener's 503), never a success that was not stored; every accepted
 * message is delivered exactly once when the disk has room again, without a restart; the process
 * stays up.
 *
 * Read-only: Linux refuses to remount read-only a file system on which a file is open for writing
 * (EBUSY), so a running service never sees its database turn read-only under it; what can happen is
 * a start on a read-only file system. That must fail clearly, and the next start on a writable one
 * must deliver what was accepted before, once.
 */
import { join } from "node:path"
import { PortalAuth } from "@linecast/core"
import { Outbox } from "@linecast/delivery"
import { type RunningPortalEmulator, startPortalEmulator } from "@linecast/testkit"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { scale, sleep } from "./support/chaos.js"
import { type CrmPortal, eventBody, postEvent, startCrmPortal } from "./support/crm.js"
import {
  type DeliveryRuntime,
  entries,
  exactness,
  portalId,
  type Recorder,
  recorder,
  settled,
  startDelivery
} from "./support/delivery.js"
import { report } from "./support/figures.js"
import { type SentEvent, tally } from "./support/load.js"
import { findSecrets } from "./support/secrets.js"
import { killAll, outputs, startServe } from "./support/serve.js"
import { queryFile, statesOf } from "./support/sqlite.js"
import { mountTmpfs, probe, unmountAll } from "./support/tmpfs.js"

/** Why this machine cannot run these tests (no privilege to mount), or undefined. */
const unmountable = probe()
const named = (title: string) => (unmountable === undefined ? title : `${title} (skipped: ${unmountable})`)

let emulator: RunningPortalEmulator
const runtimes: Array<DeliveryRuntime> = []
const portals: Array<CrmPortal> = []

const onlyLoopback = (record: Recorder) => record.requests.filter((url) => new URL(url).hostname !== "127.0.0.1")
const webhookCode = (url: string) => ({ name: "webhook code", value: new URL(url).pathname.split("/")[3]! })

interface Attempt {
  readonly key: string
  readonly userId: number
  readonly text: string
  readonly exit: Exit.Exit<{ readonly entry: { readonly id: string } }, unknown>
}

let nextUser = 20_000

/** The outbox's stall sweep, at test timing (production: 2 minutes). */
const stallMs = 3_000

/** One enqueue, to a new user of the emulated portal; its exit kept whole (a defect is not a refusal). */
const enqueue = async (runtime: DeliveryRuntime, key: string, text: string, userId?: number): Promise<Attempt> => {
  const user = userId ?? nextUser++
  if (userId === undefined) emulator.control.portal("demo").addUser({ id: user })
  const exit = await runtime.runPromiseExit(
    Effect.flatMap(Outbox.Outbox, (outbox) =>
      outbox.enqueue(
        { lineCode: emulator.lineCode, userId: user, message: text },
        { idempotencyKey: key, portal: portalId, policy: "reject" }
      )
    )
  )
  return { key, userId: user, text, exit }
}

/** How an enqueue was refused: a typed failure (its tag and message), or a defect. */
const refusal = (attempt: Attempt) => {
  if (Exit.isSuccess(attempt.exit)) return undefined
  const failure = Cause.failureOption(attempt.exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value as { readonly _tag?: string; readonly message?: string }
    return { typed: true, tag: error._tag ?? "unknown", message: error.message ?? "" }
  }
  const defect = Cause.squash(attempt.exit.cause) as { readonly message?: string; readonly cause?: unknown }
  const reason = defect.cause instanceof Error ? `: ${defect.cause.message}` : ""
  return { typed: false, tag: "defect", message: `${defect.message ?? String(defect)}${reason}` }
}

afterAll(async () => {
  for (const runtime of runtimes) await runtime.dispose().catch(() => undefined)
  await killAll()
  for (const portal of portals) await portal.emulator.close().catch(() => undefined)
  await emulator?.close().catch(() => undefined)
  // Whatever failed before: nothing of the test's stays mounted.
  unmountAll()
})

describe("database faults on SQLite: disk full, read-only", () => {
  beforeAll(async () => {
    emulator = await startPortalEmulator()
  })

  it.skipIf(unmountable !== undefined)(
    named("disk full under delivery's enqueues: typed refusals, nothing accepted lost, recovery once it grows"),
    async () => {
      emulator.control.reset()
      const record = recorder()
      const disk = mountTmpfs(8_192)
      const auth = await Effect.runPromise(PortalAuth.webhook(Redacted.make(emulator.webhookUrl)))
      // Work whose start failed on the full disk is started again by the stall sweep: test timing for it.
      const runtime = startDelivery(auth, { kind: "sqlite", filename: join(disk.folder, "outbox.sqlite") }, record, {
        stallMs
      })
      runtimes.push(runtime)
      // A slow portal: sends are in flight, and their results still to be saved, when the disk fills.
      emulator.control.configure("demo", { faults: { latencyMs: 150 } })
      const attempts: Array<Attempt> = []
      for (let index = 0; index < scale(15, 100); index++) {
        attempts.push(await enqueue(runtime, `full/before/${index}`, `before ${index}`))
      }
      const filled = disk.fill()
      // Bounded: until enough refusals were seen, or this many tries.
      const refusalsWanted = scale(5, 40)
      for (let index = 0; index < scale(60, 400); index++) {
        attempts.push(await enqueue(runtime, `full/during/${index}`, `during ${index}`))
        if (attempts.filter((attempt) => Exit.isFailure(attempt.exit)).length >= refusalsWanted) break
      }
      // The workers meet the full disk too: results that cannot be saved, steps that cannot be recorded.
      await sleep(1_500)
      disk.grow(65_536)
      // A caller retries what was refused with the same key: stored now, once.
      const refused = attempts.filter((attempt) => Exit.isFailure(attempt.exit))
      const retried: Array<Attempt> = []
      for (const attempt of refused) retried.push(await enqueue(runtime, attempt.key, attempt.text, attempt.userId))
      for (let index = 0; index < scale(10, 100); index++) {
        retried.push(await enqueue(runtime, `full/after/${index}`, `after ${index}`))
      }
      await settled(runtime, scale(40_000, 240_000))

      const counts = await exactness(runtime, emulator)
      const all = await entries(runtime)
      const accepted = [...attempts, ...retried].filter((attempt) => Exit.isSuccess(attempt.exit))
      // Answered success but not stored, or stored but not sent.
      const notSent = accepted.filter((attempt) => {
        const id = Exit.isSuccess(attempt.exit) ? attempt.exit.value.entry.id : ""
        return all.find((entry) => entry.id === id)?.state !== "sent"
      })
      const refusals = refused.map(refusal).filter((found) => found !== undefined)
      const untyped = refusals.filter((found) => !found.typed)
      const leaks = findSecrets(
        [
          { where: "delivery logs", text: record.logs.join("\n") },
          { where: "refusals", text: refusals.map((found) => found.message).join("\n") }
        ],
        [webhookCode(emulator.webhookUrl)]
      )
      report("sqlite-disk-full", {
        ...counts,
        load: `${attempts.length + retried.length} enqueues, ${refused.length} refused while full`,
        faults: refused.length,
        inputs: attempts.length + retried.length,
        leaked: leaks.length,
        fillerBytes: filled,
        accepted: accepted.length,
        refused: refused.length,
        refusalKinds: Object.fromEntries(
          [...new Set(refusals.map((found) => `${found.tag}: ${found.message}`))].map((kind) => [
            kind,
            refusals.filter((found) => `${found.tag}: ${found.message}` === kind).length
          ])
        ),
        retriedAccepted: retried.filter((attempt) => Exit.isSuccess(attempt.exit)).length,
        notSent: notSent.map((attempt) => attempt.key)
      })
      expect(refused.length).toBeGreaterThan(0)
      // Clear and typed: an OutboxStorageError that says the disk is full, not a defect.
      expect(untyped).toEqual([])
      for (const found of refusals) {
        expect(found.tag).toBe("OutboxStorageError")
        expect(found.message).toMatch(/full/i)
      }
      // Recovered without a restart: every retry and every new enqueue accepted.
      expect(retried.every((attempt) => Exit.isSuccess(attempt.exit))).toBe(true)
      expect(notSent.map((attempt) => attempt.key)).toEqual([])
      expect(counts.dead).toBe(0)
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(onlyLoopback(record)).toEqual([])
      expect(leaks).toEqual([])
      await runtime.dispose()
      disk.unmount()
    },
    scale(60_000, 300_000)
  )

  it.skipIf(unmountable !== undefined)(
    named("disk full under serve's CRM events: 200 or 503, it stays up, every 200 delivered once after it grows"),
    async () => {
      const portal = await startCrmPortal()
      portals.push(portal)
      // A slow portal: events are still being processed (fetched, then enqueued) when the disk fills.
      portal.emulator.control.configure("demo", { faults: { latencyMs: 400 } })
      const disk = mountTmpfs(16_384)
      const file = join(disk.folder, "linecast.sqlite")
      const serve = await startServe(portal.env({ LINECAST_SQLITE_FILE: file, LINECAST_PORT: "0" }))
      const sent: Array<SentEvent> = []
      const post = async (label: string) => {
        const deal = portal.addDeal(`${label}-${sent.length}`)
        const status = await postEvent(serve.eventsUrl, eventBody(portal, { id: deal.id }))
        sent.push({ dealId: deal.id, userId: deal.userId, text: deal.text, status })
        return status
      }
      // The portal's budget (one `crm.deal.get` per event, 2 calls a second past 50) bounds the rate.
      const everyMs = 250
      for (let index = 0; index < scale(8, 40); index++) {
        await post("before")
        await sleep(everyMs)
      }
      const filled = disk.fill()
      let full = 0
      for (let index = 0; index < scale(16, 80); index++) {
        if ((await post("full")) === 503) full++
        await sleep(everyMs)
      }
      const aliveWhileFull = !serve.exited()
      disk.grow(131_072)
      for (let index = 0; index < scale(8, 40); index++) {
        await post("after")
        await sleep(everyMs)
      }
      const counts = await tally(portal, sent, scale(30_000, 240_000))
      const health = await fetch(`${serve.url}/healthz`).then(
        (response) => response.status,
        () => 0
      )
      const statuses: Record<string, number> = {}
      for (const event of sent) statuses[event.status] = (statuses[event.status] ?? 0) + 1
      const leaks = findSecrets(outputs, portal.secrets)
      // Where the acknowledged events stand: the listener's inbox and delivery's outbox.
      const inboxStates = await statesOf(file, "linecast_event_inbox")
      const outboxStates = await statesOf(file, "linecast_outbox")
      const missing = sent.filter(
        (event) => event.status === 200 && !portal.emulator.control.inbox("demo", event.userId).length
      )
      const missingEvents =
        missing.length === 0
          ? []
          : await queryFile<{ entity_id: string; state: string; attempts: number; error: string | null }>(
              file,
              `SELECT entity_id, state, attempts, error FROM linecast_event_inbox WHERE entity_id IN (${missing
                .map((event) => `'${event.dealId}'`)
                .join(",")})`
            )
      report("sqlite-disk-full-serve", {
        ...counts,
        load: `${sent.length} CRM events, ${full} answered 503 while the disk was full`,
        faults: full,
        inputs: sent.length,
        leaked: leaks.length,
        fillerBytes: filled,
        statuses,
        aliveWhileFull,
        inboxStates,
        outboxStates,
        missingEvents
      })
      expect(aliveWhileFull).toBe(true)
      expect(serve.exited()).toBe(false)
      expect(health).toBe(200)
      // Refused plainly while full: a 503 (not stored, not acknowledged), never a reset or another 5xx.
      expect(full).toBeGreaterThan(0)
      expect(Object.keys(statuses).sort()).toEqual(["200", "503"])
      // Accepted again once it grew.
      expect(sent.slice(-3).every((event) => event.status === 200)).toBe(true)
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(leaks).toEqual([])
      await serve.kill("SIGTERM")
      disk.unmount()
    },
    scale(90_000, 400_000)
  )

  it.skipIf(unmountable !== undefined)(
    named("read-only: a start on it fails clearly, the next writable start delivers what was accepted, once"),
    async () => {
      emulator.control.reset()
      const record = recorder()
      const disk = mountTmpfs(8_192)
      const file = join(disk.folder, "outbox.sqlite")
      const auth = await Effect.runPromise(PortalAuth.webhook(Redacted.make(emulator.webhookUrl)))
      const first = startDelivery(auth, { kind: "sqlite", filename: file }, record, { stallMs })
      runtimes.push(first)
      // Accepted, not yet sent when the service stops: they wait through the read-only spell in the file.
      const accepted: Array<Attempt> = []
      emulator.control.configure("demo", { faults: { hangRate: 1, hangMs: 60_000 } })
      for (let index = 0; index < scale(10, 50); index++) {
        accepted.push(await enqueue(first, `ro/before/${index}`, `before ${index}`))
      }
      // Linux will not make it read-only under an open database.
      const busy = (() => {
        try {
          disk.readOnly()
          return "remounted"
        } catch (error) {
          return String((error as { readonly stderr?: unknown }).stderr ?? error).includes("busy") ? "busy" : "other"
        }
      })()
      await first.dispose()
      emulator.control.configure("demo", { faults: {} })
      disk.readOnly()
      const onReadOnly = startDelivery(auth, { kind: "sqlite", filename: file }, record, { stallMs })
      runtimes.push(onReadOnly)
      const refused = await enqueue(onReadOnly, "ro/during", "during")
      await onReadOnly.dispose().catch(() => undefined)
      const sentWhileReadOnly = emulator.control.inbox("demo").length
      disk.readWrite()
      const second = startDelivery(auth, { kind: "sqlite", filename: file }, record, { stallMs })
      runtimes.push(second)
      const after = await enqueue(second, "ro/after", "after")
      await settled(second, scale(40_000, 240_000))
      const counts = await exactness(second, emulator)
      const all = await entries(second)
      const notSent = [...accepted, after].filter((attempt) => {
        const id = Exit.isSuccess(attempt.exit) ? attempt.exit.value.entry.id : ""
        return all.find((entry) => entry.id === id)?.state !== "sent"
      })
      const why = Exit.isFailure(refused.exit) ? Cause.pretty(refused.exit.cause) : "accepted"
      const leaks = findSecrets(
        [
          { where: "delivery logs", text: record.logs.join("\n") },
          { where: "refusal", text: why }
        ],
        [webhookCode(emulator.webhookUrl)]
      )
      report("sqlite-read-only", {
        ...counts,
        load: `${accepted.length + 2} enqueues around a read-only start`,
        faults: 1,
        inputs: accepted.length + 2,
        leaked: leaks.length,
        remountWhileOpen: busy,
        readOnlyStart: why.split("\n")[0],
        sentWhileReadOnly
      })
      expect(accepted.every((attempt) => Exit.isSuccess(attempt.exit))).toBe(true)
      // Refused, with the database named as the reason; nothing sent from a database that cannot record it.
      expect(Exit.isFailure(refused.exit)).toBe(true)
      expect(why).toMatch(/database|SQLITE|read-?only/i)
      expect(sentWhileReadOnly).toBe(0)
      expect(notSent.map((attempt) => attempt.key)).toEqual([])
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(leaks).toEqual([])
      await second.dispose()
      disk.unmount()
    },
    scale(60_000, 300_000)
  )
})
