/**
 * How a delivery step changes a recipient's weekly window: through the recipient's entity, wherever
 * the cluster placed it (this runner or another), so that one holder serves each recipient's
 * requests one by one. The same operations as the `WeeklyLedger`'s, which the entity applies.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { OutboxStorageError } from "./DeliveryError.js"
import type { Recipient } from "./OutboxEntry.js"
import { entityId, RecipientEntity } from "./RecipientEntity.js"
import type { WeeklyLedger } from "./WeeklyLedger.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class RecipientLedger extends Context.Tag("@linecast/delivery/RecipientLedger")<
  RecipientLedger,
  Pick<WeeklyLedger.Service, "claim" | "record" | "learn" | "release" | "lastSent">
>() {}

/** The engine could not hand the request to the recipient's holder: the step tries again later. */
const unreachable = (error: { readonly _tag: string; readonly message: string }): OutboxStorageError =>
  error instanceof OutboxStorageError
    ? error
    : new OutboxStorageError({ operation: "recipient", message: `${error._tag}: ${error.message}` })

/**
 * Through the recipient entities of the cluster.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(
  RecipientLedger,
  Effect.map(RecipientEntity.client, (client) => {
    const of = (recipient: Recipient) => client(entityId(recipient))
    return RecipientLedger.of({
      claim: (recipient, entryId, now) => of(recipient).Claim({ entryId, now }).pipe(Effect.mapError(unreachable)),
      record: (recipient, sentAt) => of(recipient).Record({ sentAt }).pipe(Effect.mapError(unreachable)),
      learn: (recipient, now) => of(recipient).Learn({ now }).pipe(Effect.mapError(unreachable)),
      release: (recipient, entryId) => of(recipient).Release({ entryId }).pipe(Effect.mapError(unreachable)),
      lastSent: (recipient) => of(recipient).LastSent().pipe(Effect.mapError(unreachable))
    })
  })
)
