/**
 * The dispatcher, one per runner: admits waiting entries as their portals have room and starts their
 * workflows, and looks after admitted work that stopped moving. It runs whenever something was added
 * or a place freed on this runner, and every `sweepIntervalMs` for what other runners did.
 */
import { WorkflowEngine } from "@effect/workflow"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { AdmissionKey, AdmissionLimits } from "../Admission.js"
import { Admission } from "../Admission.js"
import { DeliveryWorkflow } from "../DeliveryWorkflow.js"
import { resting } from "../OutboxEntry.js"
import { OutboxStore } from "../OutboxStore.js"

export interface DispatcherOptions {
  readonly limits: AdmissionLimits
  /** Workflows handed to the engine at once. */
  readonly startConcurrency: number
  /** How often the dispatcher looks without being told to, and the stall sweep runs. */
  readonly sweepIntervalMs: number
  /** Admitted work that has not moved for this long has its workflow started and resumed again. */
  readonly stallMs: number
}

/** How often `enqueue` lends the dispatcher a hand. */
const lendEveryMs = 50

/** Admitted entries looked at by one stall sweep. */
const stallPage = 500

export const run = (options: DispatcherOptions) =>
  Effect.gen(function* () {
    const admission = yield* Admission
    const store = yield* OutboxStore
    const engine = yield* WorkflowEngine.WorkflowEngine
    const withEngine = Effect.provideService(WorkflowEngine.WorkflowEngine, engine)

    // A start that fails goes back to waiting, for the next dispatch; if even that cannot be written, the stall
    // sweep starts it again.
    const execute = (key: AdmissionKey) =>
      DeliveryWorkflow.execute(key, { discard: true }).pipe(
        withEngine,
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logWarning("delivery workflow not started; it is tried again", cause),
            Effect.ignoreLogged(admission.requeue([key]))
          )
        )
      )

    const scope = yield* Effect.scope
    /**
     * Admits what has room and starts those workflows in the background. `enqueue` calls it too (at most every
     * `lendEveryMs`): SQLite's single connection is not handed out in order, so a flood of enqueues would keep
     * a separate dispatcher from the database until it ends.
     */
    const dispatch = Effect.flatMap(Clock.currentTimeMillis, (now) => admission.admit(options.limits, now)).pipe(
      Effect.tap((admitted) =>
        admitted.length === 0
          ? Effect.void
          : Effect.forkIn(
              Effect.forEach(admitted, execute, { concurrency: options.startConcurrency, discard: true }),
              scope
            )
      ),
      Effect.map((admitted) => admitted.length),
      Effect.catchAll((error) => Effect.as(Effect.logWarning("admission failed", { reason: error.message }), 0))
    )
    let lent = 0
    const lend = Effect.suspend(() => {
      const now = Date.now()
      if (now - lent < lendEveryMs) return Effect.void
      lent = now
      return Effect.asVoid(dispatch)
    })
    // Admit while there is something to admit; then wait to be told, or for the interval.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(dispatch, (admitted) =>
          admitted > 0
            ? Effect.yieldNow()
            : Effect.raceFirst(admission.awaitWake, Effect.sleep(Duration.millis(options.sweepIntervalMs)))
        )
      )
    )

    // Work that stopped moving: the engine can lose track of an execution when its runner or database
    // connection dies at the wrong moment. Start (if it never was) and resume (if suspended) its workflow.
    const nudge = (key: AdmissionKey) =>
      Effect.zipRight(
        execute(key),
        Effect.flatMap(DeliveryWorkflow.executionId(key), (id) => DeliveryWorkflow.resume(id)).pipe(
          withEngine,
          Effect.ignoreLogged
        )
      )
    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const before = now - options.stallMs
      const admitted = yield* admission.admittedBefore(before, stallPage)
      if (admitted.length === 0) return
      const entries = yield* store.list({ ids: admitted.map((key) => key.entryId), limit: stallPage })
      const byId = new Map(entries.map((entry) => [entry.id, entry]))
      const gone: Array<AdmissionKey> = []
      const stalled: Array<AdmissionKey> = []
      for (const key of admitted) {
        const entry = byId.get(key.entryId)
        if (entry === undefined || entry.generation !== key.generation || resting(entry.state)) gone.push(key)
        // A message scheduled for later is waiting, not stalled.
        else if (entry.updatedAt < before && (entry.notBefore ?? 0) <= now) stalled.push(key)
      }
      yield* admission.release(gone)
      yield* Effect.forEach(stalled, nudge, { concurrency: options.startConcurrency, discard: true })
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
