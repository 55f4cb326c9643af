/**
 * Crash on PostgreSQL with several instances: three Linecast instances (listener, processor, delivery
 * runner) share one schema; a stream of CRM events goes round-robin to those alive while one instance
 * after another is SIGKILLed and started again. Every acknowledged event produced exactly its message.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { eventually, scale, sleep } from "./support/chaos.js"
import { type CrmPortal, startCrmPortal } from "./support/crm.js"
import { report } from "./support/figures.js"
import { streamEvents, tally } from "./support/load.js"
import { freePort } from "./support/port.js"
import { freshSchema, type Schema } from "./support/postgres.js"
import { findSecrets } from "./support/secrets.js"
import { root } from "./support/serve.js"

const fixture = fileURLToPath(new URL("./fixtures/runner.ts", import.meta.url))
const kills = scale(2, 12)
const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
})

interface Instance {
  readonly child: ChildProcess
  readonly eventsUrl: string
  output: string
  readonly exited: Promise<void>
}

const startInstance = async (setup: object, listenPort: number): Promise<Instance> => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@linecast/source", fixture], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      LINECAST_RELIABILITY_INSTANCE: JSON.stringify(setup)
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const instance: Instance = {
    child,
    eventsUrl: `http://127.0.0.1:${listenPort}/bitrix/events`,
    output: "",
    exited: new Promise((resolve) => child.once("exit", () => resolve()))
  }
  child.stderr!.on("data", (chunk: Buffer) => {
    instance.output += chunk.toString()
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start: ${instance.output}`)), 60_000)
    createInterface({ input: child.stdout! }).on("line", (line) => {
      instance.output += `${line}\n`
      if (line.includes('"ready"')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void instance.exited.then(() => reject(new Error(`instance exited: ${instance.output}`)))
  })
  return instance
}

describe("crash: several instances on PostgreSQL, SIGKILLed in turn", () => {
  it(
    "loses and duplicates nothing",
    async () => {
      const portal: CrmPortal = await startCrmPortal()
      cleanups.push(() => portal.emulator.close())
      // Three instances each with its own budget share one portal: a bucket that does not limit them.
      portal.emulator.control.configure("demo", { bucket: { limit: 1_000, drainPerSecond: 500 } })
      const schema: Schema = await freshSchema()
      cleanups.push(() => schema.drop())
      const ports = await Promise.all(
        [0, 1, 2].map(async () => ({ runner: await freePort(), listen: await freePort() }))
      )
      const setupFor = (index: number) => ({
        databaseUrl: schema.url,
        runnerPort: ports[index]!.runner,
        listenPort: ports[index]!.listen,
        webhookUrl: portal.emulator.webhookUrl,
        domain: portal.domain,
        applicationToken: portal.applicationToken,
        rules: JSON.parse(readFileSync(portal.rulesFile, "utf8"))
      })
      const instances: Array<Instance | undefined> = []
      const outputs: Array<Instance> = []
      cleanups.push(async () => {
        for (const instance of outputs) instance.child.kill("SIGKILL")
      })
      // One at a time: instances starting together race to create the engine's tables, and delivery's
      // own retry of that race did not always win it here.
      for (const index of [0, 1, 2]) {
        const instance = await startInstance(setupFor(index), ports[index]!.listen)
        instances[index] = instance
        outputs.push(instance)
      }
      let stopped = false
      let turn = 0
      const stream = streamEvents(
        portal,
        () => {
          const alive = instances.filter((instance): instance is Instance => instance !== undefined)
          return alive[turn++ % Math.max(1, alive.length)]?.eventsUrl
        },
        { everyMs: 50, max: scale(1_000, 10_000), stop: () => stopped, label: "pg" }
      )
      try {
        for (let round = 0; round < kills; round++) {
          await sleep(1_500)
          const index = round % 3
          const victim = instances[index]!
          instances[index] = undefined
          victim.child.kill("SIGKILL")
          await victim.exited
          const restarted = await startInstance(setupFor(index), ports[index]!.listen)
          instances[index] = restarted
          outputs.push(restarted)
        }
        await sleep(1_000)
      } finally {
        stopped = true
      }
      const sent = await stream
      const counts = await tally(portal, sent, scale(60_000, 300_000))
      // A killed runner's entries in flight settle once its shard locks expire and another runner reconciles them.
      let states: Readonly<Record<string, number>> = {}
      await eventually(
        async () => {
          states = await schema.outboxStates()
          return Object.keys(states).every((state) => state === "sent")
        },
        "every outbox entry to settle",
        scale(60_000, 300_000)
      ).catch(() => undefined)
      const leaks = findSecrets(
        outputs.map((instance) => ({ where: "instance output", text: instance.output })),
        portal.secrets
      )
      report("crash-postgres", {
        ...counts,
        load: `${sent.length} events over 3 instances, ${kills} SIGKILLs`,
        faults: kills,
        inputs: sent.length,
        leaked: leaks.length,
        outboxStates: states
      })
      expect(counts.accepted).toBeGreaterThan(scale(20, 200))
      expect(counts.lost).toBe(0)
      expect(counts.duplicated).toBe(0)
      expect(Object.keys(states)).toEqual(["sent"])
      expect(leaks).toEqual([])
    },
    scale(150_000, 900_000)
  )
})
