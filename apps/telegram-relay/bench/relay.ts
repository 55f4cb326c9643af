/**
 * The relay's benchmark (measures, asserts nothing): updates per second through the whole relay
 * (access, conversion, the durable enqueue on SQLite in a temp file, the report row, the answer
 * with what delivery accepted) against a bare grammY bot that only replies.
 *
 * Fair to both: the same Telegram emulator, the same runner settings (grammY runner with the same
 * `allowed_updates` and sink concurrency, `sequentialize` by chat, auto-retry), the same update stream
 * (`/send <user> <text>` from the same number of chats), each rate counted from the first update
 * injected to the last answer received. The machine's speed drifts by a third within minutes, so
 * the bots take turns, a cycle each: bare, held, bare, relay, bare, relay, ..., bare (seven relay
 * cycles). A cycle starts its bot, warms it up with a full round, counts its best of two rounds and
 * stops it (the relay as SIGTERM stops it, then started again on the same database, its backlog
 * with it). Each relay cycle is compared with the mean of the bare cycles just before and after it,
 * and the figure is the median of those ratios: a single ratio moved between 0.5 and 0.8 on the
 * same code, a median of three by 0.2.
 *
 * A realistic portal: the portal emulator keeps Bitrix24's bucket (50, draining 2 a second) and
 * core's own bucket stands in front of it; the portal is a Partner (NFR) one, so the weekly rule
 * defers nothing and every message is sent (about 100 a second, with `batch`). The emulator runs in
 * a thread of its own (`portal.ts`): Bitrix24's servers are not in the relay's process, and the bare
 * bot, which talks to no portal, would not pay for them on its thread either. Delivery runs in the
 * relay's process as `main.ts` deploys it: the outbox in the relay's thread, delivery's runner (the
 * engine, which starts workflows only as the portal has room) in a worker thread.
 *
 * Two relay figures, each on a database of its own: `relay` (delivery's workflows running beside it),
 * and `relay, workflows held` (delivery's runner admits nothing, `admittedPerPortal: 0`): the relay's own
 * path without the delivery engine's work. Beside each rate, the process's CPU time per update
 * answered (all of it: the emulators, the bot, delivery), which moves less than a rate on a shared
 * machine, and (on Linux) how long the main thread ran and waited for a core, and the other threads'
 * time (delivery's worker, the portal emulator's thread, V8's garbage collection and compilation):
 * see `threads.ts`. From the main thread's time, a second ratio: the bare bot's CPU an update over the
 * relay's, what the rates' ratio would be if neither thread ever waited (for a core, or for an answer).
 * It moves far less than the rates' from cycle to cycle, and says whether a change made the relay's
 * own work cheaper when the rates cannot tell.
 *
 * `pnpm --filter @linecast/telegram-relay bench -- [--json] [--quick] [--postgres]`: `--json` prints one
 * line on stdout, `{"figures":{"ratio":..,"relayPerSecond":..,"barePerSecond":..,...,"relayWaitedPct":..,"relayDelivered":..,"mainRatio":..,"relayMainUs":..}}` (the rest goes to
 * stderr); `--quick` is a shorter run (under 30 s); `--postgres` runs delivery on PostgreSQL instead of
 * SQLite (a schema for each of held and relay in the database at BENCH_DATABASE_URL, by default
 * postgres://postgres@127.0.0.1:5432/test). BENCH_UPDATES, BENCH_CHATS change the load, BENCH_CYCLES the relay's
 * cycles; BENCH_PROFILE profiles the main thread (below).
 */

import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { setFlagsFromString } from "node:v8"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as SqlClientTag from "@effect/sql/SqlClient"
import { autoRetry } from "@grammyjs/auto-retry"
import { type RunOptions, run, sequentialize } from "@grammyjs/runner"
import type { Outbox } from "@linecast/delivery"
import { type Delivery, DeliveryDatabase, DeliveryWorker, PortalChannels } from "@linecast/delivery"
import { startTelegramEmulator } from "@linecast/testkit"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import { Bot } from "grammy"
import type { Update } from "grammy/types"
import { startRelay } from "../src/startRelay.js"
import { freshSqliteFile, webhookChannel } from "../test/harness.js"
import { startPortalThread } from "./portal.js"
import { countThreads } from "./threads.js"

const flags = new Set(process.argv.slice(2))
const json = flags.has("--json")
const quick = flags.has("--quick")
const postgres = flags.has("--postgres")
const databaseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const updates = Number(process.env.BENCH_UPDATES ?? (quick ? 1_000 : 3_000))
const chats = Number(process.env.BENCH_CHATS ?? 60)
/** Relay cycles of the alternation (below), each between two of the bare bot's. */
const cycles = Number(process.env.BENCH_CYCLES ?? (quick ? 1 : 7))
/** Measured rounds in each cycle of a bot, after its warm-up: its best counts. */
const rounds = quick ? 1 : 2
const concurrency = 100
const users = 60
/** A round gives up waiting after this long (the relay may answer slower than the load arrives). */
const capMs = quick ? 4_000 : 15_000

/**
 * BENCH_PROFILE=<folder>: the main thread's CPU profile of each counted round (`<round>.cpuprofile`); with
 * BENCH_PROFILE_HEAP=1, what each round allocated instead (`<round>.heapprofile`, sampled, collected objects too).
 */
const profileDir = process.env.BENCH_PROFILE
const profileHeap = process.env.BENCH_PROFILE_HEAP === "1"
const inspector = profileDir === undefined ? undefined : new Session()
if (inspector !== undefined) {
  inspector.connect()
  await inspector.post("Profiler.enable")
  await inspector.post("Profiler.setSamplingInterval", { interval: 200 })
  await inspector.post("HeapProfiler.enable")
}
const startProfile = () =>
  profileHeap
    ? inspector!.post("HeapProfiler.startSampling", {
        samplingInterval: 8192,
        // Node's types lag V8's protocol: these count what young and old collections took back, not only what lives.
        ...({ includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as object)
      })
    : inspector!.post("Profiler.start")
const stopProfile = async (label: string) => {
  const { profile } = profileHeap
    ? await inspector!.post("HeapProfiler.stopSampling")
    : await inspector!.post("Profiler.stop")
  const name = `${label.replace(/[^a-z0-9]+/gi, "-")}.${profileHeap ? "heapprofile" : "cpuprofile"}`
  writeFileSync(`${profileDir}/${name}`, JSON.stringify(profile))
}
// With --json, stdout carries the one line of figures: everything else (Effect's logger too) goes to stderr.
const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`)
if (json) console.log = console.error

const telegram = await startTelegramEmulator()
const portal = await startPortalThread(users)

const isReport = (text: string | undefined) => /^(Delivered|Not delivered|\d+ reports:\n)/.test(text ?? "")

/** The runner's settings, the same for both bots. */
const runnerOptions: RunOptions<Update> = {
  runner: { fetch: { allowed_updates: ["message", "callback_query"] }, silent: true },
  sink: { concurrency }
}

/** Chat ids start here; each round has its own range, so late answers from an earlier round never count. */
const firstChat = 1_000
/** Warm-ups and rounds of every cycle: the bare bot's (two more than the relay's), held, relay. */
const totalRounds = (rounds + 1) * (2 * cycles + 3)
const chatsOf = (round: number) => Array.from({ length: chats }, (_, index) => firstChat + round * 10_000 + index)
let round = 0

interface Measured {
  readonly perSecond: number
  /** This process's CPU time per update answered. */
  readonly cpuMs: number
  /** The share of the round the main thread was ready to run but waited for a core (0 where unknown). */
  readonly waited: number
  /** The main thread's CPU time per update answered, in µs (0 where unknown): the bot's own cost, whatever its waits. */
  readonly mainUs: number
  /** Messages the portal received during the round (delivery runs beside the relay's intake). */
  readonly delivered: number
  /** The other threads' CPU (delivery's worker, the portal emulator's, V8's) per message delivered in the round (0 where unknown). */
  readonly othersMsPerDelivered: number
}

/**
 * Injects `count` updates from `chats` chats at once and waits for one answer per update, or until
 * `capMs` has passed: the rate is what was answered in the time taken. Updates a capped round left
 * unfetched are dropped when the next round starts.
 */
const measure = async (label: string, count: number, capMs: number): Promise<Measured> => {
  const ids = chatsOf(round++)
  const inRound = new Set(ids)
  // A short sent log keeps the polling below cheap. Chats stay known: the relay's reports on earlier rounds'
  // messages still arrive, as they would (they used to fail with "chat not found", a warning each).
  telegram.control.reset({ keepChats: true })
  const profiling = inspector !== undefined && !label.includes("warm-up")
  if (profiling) await startProfile()
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const threads = countThreads()
  const inboxBefore = await portal.inbox()
  for (let index = 0; index < count; index++) {
    telegram.control.sendCommand(
      { user: ids[index % chats]! },
      "send",
      `${100 + (index % users)} bench [b]${index}[/b]`
    )
  }
  // Counted as they come: filtering the whole sent log every 10 ms cost the thread being measured more, the
  // longer its round ran (the relay's 0.1-0.35 s of CPU over a run, the bare bot's 0.09 s).
  let checked = 0
  let done = 0
  const answered = () => {
    const sent = telegram.control.sent()
    for (; checked < sent.length; checked++) {
      const one = sent[checked]!
      if (one.method === "sendMessage" && inRound.has(one.chatId ?? 0) && !isReport(one.text)) done++
    }
    return done
  }
  answered()
  while (done < count && performance.now() - started < capMs) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    answered()
  }
  const elapsedMs = performance.now() - started
  if (profiling) await stopProfile(label)
  const perSecond = done / (elapsedMs / 1000)
  const cpu = process.cpuUsage(cpuBefore)
  const cpuMs = (cpu.user + cpu.system) / 1000 / Math.max(1, done)
  const times = threads()
  const delivered = (await portal.inbox()) - inboxBefore
  const othersMsPerDelivered = times === undefined || delivered === 0 ? 0 : times.others.ran / delivered
  const seconds = (ms: number) => (ms / 1000).toFixed(1)
  say(
    `${label.padEnd(30)} ${perSecond.toFixed(0).padStart(6)} updates/s, ${cpuMs.toFixed(2)} ms CPU an update${done < count ? ` (${done} of ${count} answered in ${capMs / 1000} s)` : ""}${times === undefined ? "" : `; in ${seconds(elapsedMs)} s the main thread ran ${seconds(times.main.ran)} s and waited ${seconds(times.main.waited)} s for a core, the others ran ${seconds(times.others.ran)} s`}${delivered > 0 ? `; ${delivered} messages delivered meanwhile (${othersMsPerDelivered.toFixed(1)} ms of the other threads' CPU each)` : ""}`
  )
  return {
    perSecond,
    cpuMs,
    waited: times === undefined ? 0 : times.main.waited / elapsedMs,
    mainUs: times === undefined ? 0 : (times.main.ran * 1000) / Math.max(1, done),
    delivered,
    othersMsPerDelivered
  }
}

/**
 * The best of `count` rounds (the least disturbed by the shared machine), after a warm-up round of
 * the same size: the rates compared are steady ones. A short warm-up left the relay's first round
 * paying for its start (delivery's worker starting the engine, both isolates compiling their hot
 * code: the other threads ran 3 s of a 2.6 s round), which the bare bot, with far less code, does
 * not have to pay.
 */
const best = async (label: string, count: number): Promise<Measured> => {
  await measure(`${label} (warm-up)`, quick ? Math.min(100, updates) : updates, capMs)
  let top: Measured = { perSecond: 0, cpuMs: 0, waited: 0, mainUs: 0, delivered: 0, othersMsPerDelivered: 0 }
  for (let index = 1; index <= count; index++) {
    const measured = await measure(`${label} #${index}`, updates, capMs)
    if (measured.perSecond > top.perSecond) top = measured
  }
  return top
}

/** A cycle of the bare bot: replies and nothing else, on the same runner settings as the relay's. */
const bareCycle = async (label: string): Promise<Measured> => {
  // As a bot in a process of its own would run: V8's defaults. Delivery's worker, started for a relay cycle, has each
  // thread collect its own young generation (`DeliveryWorker`'s `niceness`), and V8's flags are the process's.
  setFlagsFromString("--parallel-scavenge")
  const bare = new Bot(telegram.token, { botInfo: telegram.botInfo, client: { apiRoot: telegram.apiRoot } })
  bare.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 120 }))
  bare.use(sequentialize((ctx) => (ctx.chat?.id ?? ctx.from?.id)?.toString()))
  bare.on("message", (ctx) => ctx.reply("ok"))
  const runner = run(bare, runnerOptions)
  const measured = await best(label, rounds)
  await runner.stop()
  return measured
}

/** Schemas this run made in PostgreSQL, dropped at the end. */
const schemas: Array<string> = []
const admin = postgres
  ? ManagedRuntime.make(DeliveryDatabase.layer({ kind: "postgres", url: Redacted.make(databaseUrl) }))
  : undefined
const onDatabase = (statement: string) =>
  admin!.runPromise(Effect.flatMap(SqlClientTag.SqlClient, (sql) => sql.unsafe(statement)))

/** A fresh database for held or the relay: a SQLite file in a temp folder, or a PostgreSQL schema of its own. */
const freshDatabase = async (): Promise<DeliveryDatabase.DatabaseOptions> => {
  if (!postgres) return { kind: "sqlite", filename: freshSqliteFile() }
  const schema = `linecast_relay_bench_${process.pid}_${schemas.length}`
  await onDatabase(`CREATE SCHEMA ${schema}`)
  schemas.push(schema)
  const url = new URL(databaseUrl)
  url.searchParams.set("options", `-c search_path=${schema}`)
  return { kind: "postgres", url: Redacted.make(url.toString()) }
}

/**
 * A cycle of the relay on delivery over `database` (each kind keeps its own across cycles, and the
 * backlog with it); `held`: delivery admits no workflow. Stopped at the end of the cycle, as SIGTERM
 * stops it, and started again on the same file for the next: delivery's worker picks its backlog up.
 */
const relayCycle = async (
  label: string,
  held: boolean,
  database: DeliveryDatabase.DatabaseOptions
): Promise<Measured> => {
  // Entities get a second to finish at the stop (the default 15 s only lengthens the run, not a figure).
  const deliveryOptions: Delivery.DeliveryOptions = {
    ledger: { exemptPortals: ["default"] },
    sharding: { entityTerminationTimeout: "1 second" }
  }
  // As `main.ts` deploys it: the outbox in the relay's thread, delivery's runner in a worker thread (held: the
  // runner admits nothing, and only moves what the relay stores into the outbox).
  const outbox: Layer.Layer<Outbox.Outbox, unknown, PortalChannels.PortalChannels | SqlClient.SqlClient> =
    DeliveryWorker.layer({
      database,
      portals: { _tag: "Webhooks", portals: [{ id: "default", webhookUrl: portal.webhookUrl, timeout: 2_000 }] },
      delivery: held ? { ...deliveryOptions, outbox: { admittedPerPortal: 0 } } : deliveryOptions
    })
  const delivery = outbox.pipe(
    Layer.provideMerge(PortalChannels.layerSingle("default").pipe(Layer.provide(webhookChannel(portal, "real")))),
    Layer.provideMerge(DeliveryDatabase.layer(database)),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
  const relay = await startRelay(
    {
      token: Redacted.make(telegram.token),
      mode: "polling",
      operators: Array.from({ length: totalRounds }, (_, index) => chatsOf(index)).flat(),
      operatorChats: [],
      routing: { lineCode: portal.lineCode, recipients: {}, groups: {}, routes: {}, mentions: {} },
      portal: "default",
      policy: "defer",
      media: { secret: Redacted.make("bench-media-secret"), ttlSeconds: 60, maxBytes: 1 },
      listen: { host: "127.0.0.1", port: 0 },
      apiRoot: telegram.apiRoot,
      botInfo: telegram.botInfo,
      followUpPollMs: 5_000,
      albumQuietMs: 1_000,
      concurrency
    },
    delivery
  )
  const measured = await best(label, rounds)
  const stopping = performance.now()
  await relay.stop()
  say(`${label} stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s`)
  return measured
}

/** The mean of two bare cycles: the bot's speed around a relay cycle. */
const meanOf = (before: Measured, after: Measured): Measured => {
  const mean = (pick: (measured: Measured) => number) => (pick(before) + pick(after)) / 2
  return {
    perSecond: mean((m) => m.perSecond),
    cpuMs: mean((m) => m.cpuMs),
    waited: mean((m) => m.waited),
    mainUs: mean((m) => m.mainUs),
    delivered: 0,
    othersMsPerDelivered: 0
  }
}

/** A relay cycle, the bare bot around it, and the ratios of the two. */
interface Paired {
  readonly measured: Measured
  readonly bare: Measured
  /** Of the rates. */
  readonly ratio: number
  /** Of the main thread's CPU an update, bare over relay (0 where unknown): the rate ratio if neither thread waited. */
  readonly mainRatio: number
}

/**
 * The machine's speed drifts by a third within minutes, so the bots take turns: bare, held, bare,
 * relay, bare, relay, ..., bare; each relay (and the held) cycle is compared with the mean of the
 * bare cycles just before and after it, and the figure is the median of those ratios.
 */
const heldDatabase = await freshDatabase()
const relayDatabase = await freshDatabase()
let bareCycles = 0
let lastBare = await bareCycle(`bare grammY bot, cycle ${++bareCycles}`)
const paired = async (measured: Measured): Promise<Paired> => {
  const before = lastBare
  lastBare = await bareCycle(`bare grammY bot, cycle ${++bareCycles}`)
  const bare = meanOf(before, lastBare)
  return {
    measured,
    bare,
    ratio: measured.perSecond / bare.perSecond,
    mainRatio: measured.mainUs === 0 ? 0 : bare.mainUs / measured.mainUs
  }
}
const held = await paired(await relayCycle("relay, workflows held", true, heldDatabase))
const relays: Array<Paired> = []
for (let cycle = 1; cycle <= cycles; cycle++) {
  relays.push(await paired(await relayCycle(`relay, cycle ${cycle}`, false, relayDatabase)))
}
await telegram.close()
await portal.close()
if (admin !== undefined) {
  for (const schema of schemas) await onDatabase(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin.dispose()
}

/** The cycle in the middle (the upper middle of an even count) by one of its figures. */
const medianBy = (pick: (one: Paired) => number) =>
  [...relays].sort((a, b) => pick(a) - pick(b))[Math.floor(relays.length / 2)]!
// The median cycle of the rates' ratio gives every figure of the relay's but the main thread's.
const median = medianBy((one) => one.ratio)
const relay = median.measured
const bare = median.bare
const ratio = median.ratio
const heldRatio = held.ratio
// The main thread's figures have a median cycle of their own: a cycle's rate and its CPU move apart.
const mainMedian = medianBy((one) => one.mainRatio)
const listed = (ratios: ReadonlyArray<number>) => ratios.map((value) => value.toFixed(2)).join(", ")
const cycleCount = `${cycles} cycle${cycles === 1 ? "" : "s"}`
say(`ran ${(performance.now() / 1000).toFixed(1)} s`)
say(
  `relay / bare: ${ratio.toFixed(2)}x, the median of ${cycleCount} (${listed(relays.map((one) => one.ratio))}; goal >= 0.7x); workflows held: ${heldRatio.toFixed(2)}x; delivery on ${postgres ? "PostgreSQL" : "SQLite"}`
)
if (mainMedian.mainRatio > 0) {
  say(
    `the main thread's CPU an update: relay ${mainMedian.measured.mainUs.toFixed(0)} us, bare ${mainMedian.bare.mainUs.toFixed(0)} us, held ${held.measured.mainUs.toFixed(0)} us; bare / relay ${mainMedian.mainRatio.toFixed(2)}x, the median of ${cycleCount} (${listed(relays.map((one) => one.mainRatio))}); bare / held ${held.mainRatio.toFixed(2)}x`
  )
}
const rounded = (value: number) => Math.round(value * 100) / 100
if (json) {
  const figures = {
    ratio: rounded(ratio),
    relayPerSecond: rounded(relay.perSecond),
    barePerSecond: rounded(bare.perSecond),
    heldRatio: rounded(heldRatio),
    heldPerSecond: rounded(held.measured.perSecond),
    relayCpuMs: rounded(relay.cpuMs),
    heldCpuMs: rounded(held.measured.cpuMs),
    bareCpuMs: rounded(bare.cpuMs),
    // How much of the counted round the main thread waited for a core, in % (Linux; 0 elsewhere).
    relayWaitedPct: rounded(100 * relay.waited),
    heldWaitedPct: rounded(100 * held.measured.waited),
    bareWaitedPct: rounded(100 * bare.waited),
    // Delivery's work beside the relay's counted round: what it delivered, and the other threads' CPU a message.
    relayDelivered: relay.delivered,
    relayOthersMsPerDelivered: rounded(relay.othersMsPerDelivered),
    // The main thread's CPU an update in µs (Linux; 0 elsewhere), and bare over relay: the median cycle of that ratio.
    mainRatio: rounded(mainMedian.mainRatio),
    relayMainUs: Math.round(mainMedian.measured.mainUs),
    bareMainUs: Math.round(mainMedian.bare.mainUs),
    heldMainRatio: rounded(held.mainRatio),
    heldMainUs: Math.round(held.measured.mainUs)
  }
  process.stdout.write(`${JSON.stringify({ figures })}\n`)
}
// Exits explicitly once stdout is flushed: a benchmark that has printed its figures has nothing
// left to wait for (under heavy load a stopped relay's process once lingered for minutes).
process.stdout.write("", () => process.exit(0))
