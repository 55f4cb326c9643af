/**
 * The recipient entity: the weekly rule belongs to one (portal, line `CODE`, `USER_ID`), the key the
 * server's own rule uses, and the cluster engine keeps each recipient's entity on one runner at a
 * time, serving its requests one by one. Every delivery step reads and changes a recipient's window
 * through it: claim the window, record an accepted send, learn from the portal's `USER_MESSAGE_LIMIT`,
 * release a claim. The window itself is kept by the `WeeklyLedger` in the database, so it outlives
 * the entity and moves with it; the ledger's conditional claim stays the last word should two
 * runners briefly both hold a recipient while its shard moves.
 *
 * @since 0.1.0
 */
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { OutboxStorageError } from "./DeliveryError.js"
import type { Recipient } from "./OutboxEntry.js"
import { WeeklyLedger } from "./WeeklyLedger.js"

/**
 * @since 0.1.0
 * @category models
 */
export const ClaimSchema = Schema.Union(
  Schema.TaggedStruct("Granted", {}),
  Schema.TaggedStruct("Blocked", { until: Schema.Number }),
  Schema.TaggedStruct("Held", { by: Schema.String })
)

/**
 * @since 0.1.0
 * @category entities
 */
export const RecipientEntity = Entity.make("linecast/Recipient", [
  Rpc.make("Claim", {
    payload: { entryId: Schema.String, now: Schema.Number },
    success: ClaimSchema,
    error: OutboxStorageError
  }),
  Rpc.make("Record", { payload: { sentAt: Schema.Number }, error: OutboxStorageError }),
  Rpc.make("Learn", { payload: { now: Schema.Number }, success: Schema.Number, error: OutboxStorageError }),
  Rpc.make("Release", { payload: { entryId: Schema.String }, error: OutboxStorageError }),
  Rpc.make("LastSent", { success: Schema.UndefinedOr(Schema.Number), error: OutboxStorageError })
])

/**
 * The entity id of a recipient: its three parts, each escaped so that none can run into the next.
 *
 * @since 0.1.0
 * @category constructors
 */
export const entityId = (recipient: Recipient): string =>
  [recipient.portal, recipient.lineCode, String(recipient.userId)].map(encodeURIComponent).join("/")

const recipientOf = (id: string): Recipient => {
  const [portal = "", lineCode = "", userId = "0"] = id.split("/").map(decodeURIComponent)
  return { portal, lineCode, userId: Number(userId) }
}

/**
 * The entity's behaviour on every runner, over the ledger in the database.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = RecipientEntity.toLayer(
  Effect.gen(function* () {
    const address = yield* Entity.CurrentAddress
    const recipient = recipientOf(address.entityId)
    const ledger = yield* WeeklyLedger
    return RecipientEntity.of({
      Claim: ({ payload }) => ledger.claim(recipient, payload.entryId, payload.now),
      Record: ({ payload }) => ledger.record(recipient, payload.sentAt),
      Learn: ({ payload }) => ledger.learn(recipient, payload.now),
      Release: ({ payload }) => ledger.release(recipient, payload.entryId),
      LastSent: () => ledger.lastSent(recipient)
    })
  }),
  // Needed for a step's few requests only (the window is in the ledger): put away soon after, so that a
  // backlog to many recipients does not keep thousands of idle entities in memory.
  { maxIdleTime: "5 seconds" }
)
