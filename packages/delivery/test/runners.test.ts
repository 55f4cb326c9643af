import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream } from "node:fs"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { dropDatabases, freePort, freshDatabase } from "./harness.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const fixture = fileURLToPath(new URL("./fixtures/runner.ts", import.meta.url))

const portalCount = 20
const usersPerPortal = 30
const bucket = { limit: 50, drainPerSecond: 2 }

let emulator: RunningPortalEmulator
const children: Array<ChildProcess> = []

beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  await emulator.close()
  await dropDatabases()
})

interface Runner {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  readonly exited: Promise<number | null>
}

const startRunner = (setup: object): Runner => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@linecast/source", fixture], {
    cwd: root,
    env: { ...process.env, LINECAST_TEST_RUNNER: JSON.stringify(setup) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.push(child)
  let stderr = ""
  if (process.env.LINECAST_TEST_RUNNER_LOG !== undefined)
    child.stdout!.pipe(createWriteStream(`${process.env.LINECAST_TEST_RUNNER_LOG}-${children.length}.log`))
  child.stderr!.on("data", (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4_000)
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on("line", (line) => {
      if (line.includes('"ready"')) resolve()
    })
    child.on("exit", (code) => reject(new Error(`runner exited (${code}) before it was ready: ${stderr}`)))
  })
  return { child, ready, exited }
}

const accepted = () => emulator.control.portals().reduce((sum, portal) => sum + portal.counters.accepted, 0)

const until = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (process.env.LINECAST_TEST_RUNNER_LOG !== undefined) console.log(what, accepted())
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe("several runners on PostgreSQL", () => {
  it("share 20 portals: every message delivered exactly once, no bucket overrun, through a kill and a graceful stop", async () => {
    const portals = Array.from({ length: portalCount }, (_, index) =>
      emulator.control.createPortal({
        id: `shared-${index + 1}`,
        users: Array.from({ length: usersPerPortal }, (_, user) => ({ id: user + 1, name: `User ${user + 1}` })),
        webhooks: [{ userId: 1 }],
        lines: [{}],
        bucket,
        // Half are partner (NFR) portals: no weekly rule to refuse a second message, so a duplicate would show.
        nfr: index % 2 === 0
      })
    )
    const database = await freshDatabase("postgres")
    if (database.kind !== "postgres") throw new Error("expected PostgreSQL")
    const url = Redacted.value(database.url)

    // Runner r enqueues the users u with u % 3 === r, two per portal per wave.
    const wavesFor = (runner: number) => {
      const mine = Array.from({ length: usersPerPortal }, (_, user) => user + 1).filter((user) => user % 3 === runner)
      const waves = []
      for (let start = 0; start < mine.length; start += 2) {
        waves.push(
          portals.flatMap((portal) =>
            mine.slice(start, start + 2).map((userId) => ({
              portal: portal.id,
              lineCode: portal.lineCodes[0]!,
              userId,
              key: `${portal.id}/${userId}`
            }))
          )
        )
      }
      return waves
    }
    const ports = [await freePort(), await freePort(), await freePort()]
    const runners = ports.map((port, index) =>
      startRunner({
        url,
        port,
        bucket,
        portals: portals.map((portal, index) => ({
          id: portal.id,
          webhookUrl: portal.webhookUrls[0]!,
          nfr: index % 2 === 0
        })),
        waves: wavesFor(index),
        waveMs: 600
      })
    )
    await Promise.all(runners.map((runner) => runner.ready))

    // Kill one runner outright while it sends, and stop another gracefully later.
    await until("a first share of the messages", () => accepted() >= 100)
    runners[1]!.child.kill("SIGKILL")
    await until("a second share of the messages", () => accepted() >= 250)
    runners[2]!.child.kill("SIGTERM")
    expect(await runners[2]!.exited).toBe(0)

    const db = ManagedRuntime.make(PgClient.layer({ url: database.url }))
    const states = () =>
      db.runPromise(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql<{ state: string; n: number | string }>`SELECT state, COUNT(*) AS n FROM linecast_outbox GROUP BY state`
        )
      )
    try {
      let last: ReadonlyArray<{ state: string; n: number | string }> = []
      await until(`every accepted message to be sent (${JSON.stringify(last)})`, async () => {
        last = await states()
        // A send cut off on a partner portal cannot be proved either way: it is left to an operator.
        return last.length > 0 && last.every((row) => row.state === "sent" || row.state === "ambiguous")
      }).catch(async (error) => {
        const stuck = await db.runPromise(
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) =>
              sql`SELECT h.entry_id, h.version, h.state, h.body, h.recorded_at FROM linecast_outbox_history h
                JOIN linecast_outbox o ON o.id = h.entry_id WHERE o.state NOT IN ('sent', 'ambiguous')
                ORDER BY h.entry_id, h.version LIMIT 12`
          )
        )
        // What admission and the engine hold for them, to tell where they stopped.
        const held = await db.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            Effect.all([
              sql`SELECT a.* FROM linecast_admission a JOIN linecast_outbox o ON o.id = a.entry_id
                WHERE o.state NOT IN ('sent', 'ambiguous')`,
              sql`SELECT m.entity_type, m.entity_id, m.tag, m.processed, m.last_read, m.deliver_at, m.payload
                FROM cluster_messages m, linecast_outbox o
                WHERE o.state NOT IN ('sent', 'ambiguous') AND m.payload LIKE '%' || o.id || '%' LIMIT 20`.pipe(
                Effect.orElseSucceed(() => [])
              ),
              sql`SELECT r.kind, r.payload FROM cluster_replies r JOIN cluster_messages m ON m.id = r.request_id, linecast_outbox o
                WHERE o.state NOT IN ('sent', 'ambiguous') AND m.payload LIKE '%' || o.id || '%' LIMIT 20`.pipe(
                Effect.orElseSucceed(() => [])
              )
            ])
          )
        )
        // Their attempts as the holders recorded them, and what their recipients' inboxes hold.
        const attempts = await db.runPromise(
          Effect.flatMap(
            SqlClient.SqlClient,
            (
              sql
            ) => sql`SELECT a.* FROM linecast_send_attempt a JOIN linecast_outbox o ON a.attempt_id LIKE o.id || '/%'
              WHERE o.state NOT IN ('sent', 'ambiguous')`
          )
        )
        const inboxes = await db.runPromise(
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) => sql<{ portal: string; user_id: number | string }>`SELECT portal, user_id FROM linecast_outbox
              WHERE state NOT IN ('sent', 'ambiguous')`
          )
        )
        const received = inboxes.map((row) => ({
          recipient: `${row.portal}/${row.user_id}`,
          inbox: emulator.control.inbox(row.portal, Number(row.user_id)).map((message) => ({
            id: message.id,
            text: message.message
          }))
        }))
        throw new Error(
          `${error.message}: ${JSON.stringify(last)} ${JSON.stringify(stuck)} ${JSON.stringify(held)} attempts ${JSON.stringify(attempts)} inboxes ${JSON.stringify(received)}`
        )
      })
      const final = await states()
      const total = final.reduce((sum, row) => sum + Number(row.n), 0)
      const ambiguous = Number(final.find((row) => row.state === "ambiguous")?.n ?? 0)
      expect(total).toBeGreaterThanOrEqual(250)
      // Every sent entry arrived once; an ambiguous one at most once.
      const twice = portals.flatMap((portal) =>
        Array.from({ length: usersPerPortal }, (_, user) => user + 1)
          .filter((user) => emulator.control.inbox(portal.id, user).length > 1)
          .map((user) => `${portal.id}/${user}`)
      )
      if (twice.length > 0) {
        const histories = await db.runPromise(
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) =>
              sql`SELECT o.idempotency_key, h.version, h.body, h.recorded_at FROM linecast_outbox_history h
                JOIN linecast_outbox o ON o.id = h.entry_id WHERE ${sql.in("o.idempotency_key", twice)}
                ORDER BY o.idempotency_key, h.version`
          )
        )
        console.error("sent twice", JSON.stringify(histories))
      }
      expect(twice).toEqual([])
      expect(accepted()).toBeGreaterThanOrEqual(total - ambiguous)
      expect(accepted()).toBeLessThanOrEqual(total)
      for (const portal of portals) {
        const counters = emulator.control.counters(portal.id)
        expect(counters.rejected.QUERY_LIMIT_EXCEEDED ?? 0).toBe(0)
        for (let user = 1; user <= usersPerPortal; user++)
          expect(emulator.control.inbox(portal.id, user).length).toBeLessThanOrEqual(1)
      }
    } finally {
      await db.dispose()
      runners[0]!.child.kill("SIGTERM")
      await runners[0]!.exited
    }
  }, 180_000)
})
