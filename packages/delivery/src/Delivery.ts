/**
 * Delivery, assembled: Effect's cluster engine (`SingleRunner`: shards, durable mailboxes and
 * workflows in the database) with the outbox, the weekly ledger and the delivery workflow. It
 * needs a `SqlClient` (see `DeliveryDatabase`) and the portals' `PortalChannels`.
 *
 * @since 0.1.0
 */
import { ClusterWorkflowEngine, SingleRunner } from "@effect/cluster"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as Layer from "effect/Layer"
import * as DeliveryWorkflow from "./DeliveryWorkflow.js"
import type { AdvanceOptions } from "./internal/advance.js"
import { defaultAdvanceOptions } from "./internal/advance.js"
import * as Outbox from "./Outbox.js"
import * as OutboxStore from "./OutboxStore.js"
import type { LedgerOptions } from "./WeeklyLedger.js"
import * as WeeklyLedger from "./WeeklyLedger.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DeliveryOptions {
  readonly ledger?: Partial<LedgerOptions> | undefined
  readonly retries?: Partial<AdvanceOptions> | undefined
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}

/**
 * The outbox with everything under it, on one runner.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: DeliveryOptions = {}) => {
  const engine = ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(SingleRunner.layer({ runnerStorage: "sql", shardingConfig: options.sharding }))
  )
  const storage = WeeklyLedger.layer(options.ledger).pipe(Layer.provideMerge(OutboxStore.layer))
  const workflow = DeliveryWorkflow.layer({ ...defaultAdvanceOptions, ...options.retries })
  return Outbox.layer.pipe(Layer.provideMerge(workflow), Layer.provideMerge(engine), Layer.provideMerge(storage))
}
