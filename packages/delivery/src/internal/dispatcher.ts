/**
 * The dispatcher, one per runner: admits waiting entries as their portals have room and runs their
 * first step at once (most messages are sent by it), starting an entry's durable workflow only when it
 * has to wait; and it looks after admitted work that stopped moving. It runs whenever something was
 * added or a place freed on this runner, and every `sweepIntervalMs` for what other runners did.
 *
 * A first step keeps its entry's place in admission until the step is done, or, when the entry has to
 * wait, until its workflow has started: whatever happens to this runner in between, the entry is still
 * admitted, and a stall sweep (this runner's after a restart, or another's) starts its workflow.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { WorkflowEngine } from "@effect/workflow"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Schedule from "effect/Schedule"
import type { AdmissionKey, AdmissionLimits } from "../Admission.js"
import { Admission } from "../Admission.js"
import * as DeliveryMetrics from "../DeliveryMetrics.js"
import { DeliverySteps, DeliveryWorkflow } from "../DeliveryWorkflow.js"
import { resting } from "../OutboxEntry.js"
import { OutboxStore } from "../OutboxStore.js"
import * as Journal from "./journal.js"
import { pause } from "./pause.js"

export interface DispatcherOptions {
  readonly limits: AdmissionLimits
  /** Admitted entries started at once (first steps forked, or workflows handed to the engine). */
  readonly startConcurrency: number
  /** How often the dispatcher looks without being told to, and the stall sweep runs. */
  readonly sweepIntervalMs: number
  /** Admitted work that has not moved for this long has its workflow started and resumed again. */
  readonly stallMs: number
  /** At a stop, how long first steps still running are waited for before they are cut off. */
  readonly stopTimeoutMs: number
  /** How long a round waits, once the dispatcher is woken, for the rest of a burst. */
  readonly gatherMs: number
}

/**
 * How often entries added make the dispatcher look: `enqueue` lends it a hand at most this often, and
 * after a round that admitted nothing, an entry added is looked at no sooner than this after that round.
 */
const lendEveryMs = 50

/** Admitted entries looked at by one stall sweep. */
const stallPage = 500

export const run = (options: DispatcherOptions) =>
  Effect.gen(function* () {
    const admission = yield* Admission
    const store = yield* OutboxStore
    // On SQLite this runner is the database's only one: whatever was admitted before it started was left by a runner
    // that is gone (a crash, a killed worker), and need not wait `stallMs` to be taken for stalled.
    const sql = yield* SqlClient.SqlClient
    const alone = sql.onDialectOrElse({ sqlite: () => true, orElse: () => false })
    const startedAt = yield* Clock.currentTimeMillis
    let firstSweep = true
    const engine = yield* WorkflowEngine.WorkflowEngine
    const withEngine = Effect.provideService(WorkflowEngine.WorkflowEngine, engine)

    // A start that fails goes back to waiting, for the next dispatch; if even that cannot be written, the stall
    // sweep starts it again.
    const startWorkflow = (key: AdmissionKey, delayMs?: number) =>
      DeliveryWorkflow.execute(delayMs === undefined ? key : { ...key, delayMs }, { discard: true }).pipe(
        withEngine,
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logWarning("delivery workflow not started; it is tried again", cause),
            Effect.ignoreLogged(admission.requeue([key]))
          )
        )
      )

    // The first step, outside the engine. The places it gives back are held until it is done, and, when the
    // entry has to wait, until its workflow (which begins with that wait) has started.
    const { step } = yield* DeliverySteps
    const running = yield* FiberSet.make()
    yield* Effect.addFinalizer(() =>
      FiberSet.size(running).pipe(
        Effect.flatMap((size) =>
          size === 0
            ? Effect.void
            : Effect.timeout(FiberSet.awaitEmpty(running), Duration.millis(options.stopTimeoutMs)).pipe(Effect.ignore)
        )
      )
    )
    // Places of first steps still running, touched while they run: no stall sweep (this runner's or another's)
    // takes a slow step (a full bucket, a slow portal) for a lost one and starts a second step beside it.
    const inFlight = new Map<string, AdmissionKey>()
    const nameOf = (key: AdmissionKey) => `${key.entryId}/${key.generation}`
    yield* Effect.forkScoped(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        inFlight.size === 0 ? Effect.void : admission.touch([...inFlight.values()], now)
      ).pipe(Effect.ignoreLogged, Effect.repeat(Schedule.spaced(Duration.millis(Math.max(100, options.stallMs / 3)))))
    )
    const firstStep = (key: AdmissionKey) =>
      Effect.gen(function* () {
        inFlight.set(nameOf(key), key)
        const held: Array<AdmissionKey> = []
        const holding = Admission.of({
          ...admission,
          release: (keys) => Effect.sync(() => void held.push(...keys))
        })
        const next = yield* step(key, holding).pipe(
          Effect.catchAllCause((cause) =>
            // Cut off by a stop: the place stays admitted, for the next start's stall sweep. Failed: the
            // workflow runs it again (a step is safe to run twice).
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause)
              : Effect.as(Effect.logWarning("a first delivery step failed; its workflow takes over", cause), {
                  _tag: "Wait",
                  delayMs: 0
                } as const)
          )
        )
        if (next._tag === "Wait") yield* startWorkflow(key, next.delayMs)
        yield* admission.release(held).pipe(Effect.ignoreLogged)
      }).pipe(Effect.ensuring(Effect.sync(() => inFlight.delete(nameOf(key)))), FiberSet.run(running), Effect.asVoid)

    const scope = yield* Effect.scope
    /**
     * Admits what has room and starts those entries (their first steps) in the background. `enqueue` calls it too (at most every
     * `lendEveryMs`): SQLite's single connection is not handed out in order, so a flood of enqueues would keep
     * a separate dispatcher from the database until it ends.
     */
    // On the real clock, as `pause` is: how often the dispatcher looks is its own machinery, not the entries' time.
    let lastRound = 0
    // Entries an owner left in the intake journal (SQLite, see `journal.ts`) are moved in first: a round admits them.
    const moveJournal = alone
      ? Journal.move.pipe(
          Effect.provideService(SqlClient.SqlClient, sql),
          Effect.catchAll((error) =>
            Effect.as(Effect.logWarning("the intake journal was not moved", { reason: error.message }), 0)
          )
        )
      : Effect.succeed(0)
    const dispatch = Effect.zipRight(
      moveJournal,
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        lastRound = Date.now()
        return admission.admit(options.limits, now)
      })
    ).pipe(
      Effect.tap((admitted) =>
        admitted.length === 0
          ? Effect.void
          : Effect.forkIn(
              Effect.forEach(admitted, firstStep, { concurrency: options.startConcurrency, discard: true }),
              scope
            )
      ),
      Effect.map((admitted) => admitted.length),
      Effect.tap(DeliveryMetrics.admissionRound),
      Effect.catchAll((error) => Effect.as(Effect.logWarning("admission failed", { reason: error.message }), 0))
    )
    let lent = 0
    const lend = Effect.suspend(() => {
      const now = Date.now()
      if (now - lent < lendEveryMs) return Effect.void
      lent = now
      return Effect.asVoid(dispatch)
    })
    // Admit while there is something to admit; then wait to be told, or for the interval. Told, it gathers a
    // moment first: a round for each place freed one after another cost about 0.6 ms of CPU each (half of them
    // admitting nothing), and admitted messages one or two at a time, so that the portal's calls went out half empty.
    const gather = options.gatherMs > 0 ? pause(options.gatherMs) : Effect.yieldNow()
    // After a round that admitted nothing, a place freed is looked at once; an entry added, no sooner than
    // `lendEveryMs` after that round: under a steady inflow to portals that are full, every enqueue woke a round
    // that found no room (in the relay's benchmark about a hundred a second, a quarter of delivery's CPU a message).
    const freed: Effect.Effect<void> = Effect.flatMap(admission.awaitWake, (reason) =>
      reason === "freed" ? Effect.void : freed
    )
    const told = Effect.flatMap(admission.awaitWake, (reason) => {
      const early = lastRound + lendEveryMs - Date.now()
      return reason === "freed" || early <= 0 ? Effect.void : Effect.raceFirst(pause(early), freed)
    })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(dispatch, (admitted) =>
          admitted > 0
            ? gather
            : Effect.zipRight(Effect.raceFirst(told, Effect.sleep(Duration.millis(options.sweepIntervalMs))), gather)
        )
      )
    )

    // Work that stopped moving: a first step whose runner died, or an execution the engine lost track of (its
    // runner or database connection died at the wrong moment). Start (if it never was) and resume (if suspended)
    // its workflow.
    const nudge = (key: AdmissionKey) =>
      Effect.zipRight(
        startWorkflow(key),
        Effect.flatMap(DeliveryWorkflow.executionId(key), (id) => DeliveryWorkflow.resume(id)).pipe(
          withEngine,
          Effect.ignoreLogged
        )
      )
    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const before = alone && firstSweep ? Math.max(startedAt, now - options.stallMs) : now - options.stallMs
      firstSweep = false
      const admitted = yield* admission.admittedBefore(before, stallPage)
      if (admitted.length === 0) return
      const entries = yield* store.list({ ids: admitted.map((key) => key.entryId), limit: stallPage })
      const byId = new Map(entries.map((entry) => [entry.id, entry]))
      const gone: Array<AdmissionKey> = []
      const stalled: Array<AdmissionKey> = []
      // At rest but still admitted: a first step that had to wait and whose runner died before its workflow
      // started (it gives its place back only after). Its workflow is started (harmless if it runs), then the place.
      const waiting: Array<AdmissionKey> = []
      for (const key of admitted) {
        const entry = byId.get(key.entryId)
        if (entry === undefined || entry.generation !== key.generation) gone.push(key)
        else if (resting(entry.state)) {
          if (entry.state === "deferred" || entry.state === "ambiguous") waiting.push(key)
          gone.push(key)
        }
        // A message scheduled for later is waiting, not stalled.
        else if (entry.updatedAt < before && (entry.notBefore ?? 0) <= now) stalled.push(key)
      }
      yield* Effect.forEach([...waiting, ...stalled], nudge, { concurrency: options.startConcurrency, discard: true })
      yield* admission.release(gone)
      // Looked at: the next sweep goes on with others.
      yield* admission.touch(
        admitted.filter((key) => !gone.includes(key)),
        now
      )
    })
    yield* Effect.forkScoped(
      sweep.pipe(
        Effect.catchAll((error) => Effect.logWarning("stalled-work sweep failed", { reason: error.message })),
        Effect.repeat(Schedule.spaced(options.sweepIntervalMs)),
        Effect.delay(options.sweepIntervalMs)
      )
    )
    return { dispatch, lend }
  })
