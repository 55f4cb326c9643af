/**
 * Delivery, assembled: Effect's cluster engine (shards, durable mailboxes and workflows in the
 * database) with the outbox, the weekly ledger, the delivery workflow, and the portal and recipient
 * entities.
 * It needs a `SqlClient` (see `DeliveryDatabase`) and the portals' `PortalChannels`.
 *
 * One runner (`SingleRunner`) by default; with `runner` set, this process is one of several
 * runners sharing the database (PostgreSQL), reachable by the others at that address: the engine
 * spreads the portals' shards over the runners and moves them when a runner joins, leaves or dies.
 * `layerIngest` only takes work in, for a runner elsewhere on the same database to send.
 *
 * @since 0.1.0
 */
import { ClusterWorkflowEngine, RunnerAddress, SingleRunner } from "@effect/cluster"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Admission from "./Admission.js"
import * as DeliveryWorkflow from "./DeliveryWorkflow.js"
import * as EntryChanges from "./EntryChanges.js"
import type { AdvanceOptions } from "./internal/advance.js"
import { defaultAdvanceOptions } from "./internal/advance.js"
import * as Outbox from "./Outbox.js"
import * as OutboxStore from "./OutboxStore.js"
import type { PortalOptions } from "./PortalEntity.js"
import * as PortalEntity from "./PortalEntity.js"
import * as PortalSender from "./PortalSender.js"
import * as PortalState from "./PortalState.js"
import * as RecipientEntity from "./RecipientEntity.js"
import * as RecipientLedger from "./RecipientLedger.js"
import type { LedgerOptions } from "./WeeklyLedger.js"
import * as WeeklyLedger from "./WeeklyLedger.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DeliveryOptions {
  readonly ledger?: Partial<LedgerOptions> | undefined
  readonly retries?: Partial<AdvanceOptions> | undefined
  readonly portals?: Partial<PortalOptions> | undefined
  readonly outbox?: Partial<Outbox.OutboxOptions> | undefined
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  /** This runner's address, for the other runners: several runners share the database. */
  readonly runner?: { readonly host: string; readonly port: number } | undefined
}

/**
 * The outbox with everything under it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: DeliveryOptions = {}) => {
  const sharding =
    options.runner === undefined
      ? SingleRunner.layer({ runnerStorage: "sql", shardingConfig: options.sharding })
      : NodeClusterSocket.layer({
          storage: "sql",
          shardingConfig: {
            ...options.sharding,
            runnerAddress: Option.some(RunnerAddress.make(options.runner.host, options.runner.port))
          }
        })
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(sharding))
  const storage = WeeklyLedger.layer(options.ledger).pipe(
    Layer.provideMerge(OutboxStore.layer),
    Layer.provideMerge(PortalState.layer),
    Layer.provideMerge(Admission.layer),
    Layer.provideMerge(EntryChanges.layer)
  )
  const portalOptions = { ...PortalEntity.defaultOptions, ...options.portals }
  // A single runner holds every portal and every recipient itself: their requests are served in place, without a
  // trip through the cluster (whose entities are there to share them across runners).
  const holders =
    options.runner === undefined
      ? Layer.merge(
          PortalSender.layerLocal(portalOptions, options.sharding?.entityMaxIdleTime ?? Duration.minutes(1)),
          RecipientLedger.layerLocal
        )
      : Layer.mergeAll(
          PortalEntity.layer(portalOptions),
          PortalSender.layer,
          RecipientEntity.layer,
          RecipientLedger.layer
        )
  const advanceOptions = { ...defaultAdvanceOptions, ...options.retries }
  const workflow = Layer.merge(DeliveryWorkflow.layer(advanceOptions), DeliveryWorkflow.layerSteps(advanceOptions))
  // First steps still running at a stop get the time the engine gives its entities.
  const stopTimeoutMs =
    options.sharding?.entityTerminationTimeout === undefined
      ? undefined
      : Duration.toMillis(options.sharding.entityTerminationTimeout)
  const delivery = Outbox.layerWith({
    ...(stopTimeoutMs === undefined ? {} : { stopTimeoutMs }),
    ...options.outbox
  }).pipe(
    Layer.provideMerge(workflow),
    Layer.provideMerge(holders),
    Layer.provideMerge(engine),
    Layer.provideMerge(storage)
  )
  return options.runner === undefined ? delivery : retryStart(delivery, 3)
}

/**
 * @since 0.1.0
 * @category models
 */
export interface IngestOptions {
  readonly ledger?: Partial<LedgerOptions> | undefined
  /** Tells the runner that new work was stored (see `DeliveryWorker`); without it, the runner finds it by its sweep. */
  readonly wake?: Effect.Effect<void> | undefined
  /** Where the runner's changes are heard (see `DeliveryWorker`); without it, only this outbox's own. */
  readonly changes?: EntryChanges.Service | undefined
  /**
   * New entries go to the intake journal, one row a batch, and the runner moves them into the outbox (see
   * `Outbox.makeJournaled`): for SQLite, where this process's commits are the cost that matters. False by default.
   */
  readonly journal?: boolean | undefined
}

/**
 * The outbox that only takes work in: it stores entries and their places in admission, and reads
 * and steers them, with no engine and no dispatcher (see `Outbox.makeIngest`). A process that runs
 * `layer` on the same database sends them, within its `outbox.sweepIntervalMs` (1 s by default):
 * an ingesting process (an adapter) kept apart from delivery's runner.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerIngest = (options: IngestOptions = {}) => {
  const wake = options.wake
  const admission =
    wake === undefined
      ? Admission.layer
      : Layer.effect(
          Admission.Admission,
          Effect.map(Admission.make, (own) => ({ ...own, wake: Effect.zipRight(own.wake, wake) }))
        )
  return (options.journal === true ? Outbox.layerJournaled : Outbox.layerIngest).pipe(
    Layer.provideMerge(
      WeeklyLedger.layer(options.ledger).pipe(
        Layer.provideMerge(OutboxStore.layer),
        Layer.provideMerge(admission),
        Layer.provideMerge(
          options.changes === undefined ? EntryChanges.layer : Layer.succeed(EntryChanges.EntryChanges, options.changes)
        )
      )
    )
  )
}

/**
 * Runners that start together race to create the engine's tables in PostgreSQL (`CREATE TABLE IF NOT
 * EXISTS` is not safe against itself there); the loser finds them made when it tries again.
 */
const retryStart = <A, E, R>(layer: Layer.Layer<A, E, R>, times: number): Layer.Layer<A, E, R> =>
  times === 0
    ? layer
    : Layer.catchAllCause(layer, () =>
        Layer.unwrapEffect(
          Effect.as(Effect.sleep(Duration.millis(200 + Math.random() * 300)), retryStart(Layer.fresh(layer), times - 1))
        )
      )
