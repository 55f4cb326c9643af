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
import { WeeklyLedger } from "./WeeklyLedger.js"

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

/**
 * In this process, for a runner that is the only one (`SingleRunner`): every recipient's entity would live
 * here anyway, so its requests are served one by one by a lock of its own instead, without the entity's
 * machinery (a call through the cluster: the request and its reply encoded, a mailbox, and under the weekly
 * rule nearly always an entity started for a recipient idle for days: about a fifth of the worker's CPU a
 * delivered message).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLocal = Layer.effect(
  RecipientLedger,
  Effect.map(WeeklyLedger, (ledger) => {
    const locks = new Map<string, { readonly lock: Effect.Semaphore; users: number }>()
    const serialized = <A, E>(recipient: Recipient, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.uninterruptibleMask((restore) => {
        const key = entityId(recipient)
        let held = locks.get(key)
        if (held === undefined) {
          held = { lock: Effect.unsafeMakeSemaphore(1), users: 0 }
          locks.set(key, held)
        }
        const own = held
        own.users++
        // The lock lives while someone holds or waits for it: a backlog to many recipients keeps no idle locks.
        return Effect.ensuring(
          restore(own.lock.withPermits(1)(effect)),
          Effect.sync(() => {
            if (--own.users === 0) locks.delete(key)
          })
        )
      })
    return RecipientLedger.of({
      claim: (recipient, entryId, now) => serialized(recipient, ledger.claim(recipient, entryId, now)),
      record: (recipient, sentAt) => serialized(recipient, ledger.record(recipient, sentAt)),
      learn: (recipient, now) => serialized(recipient, ledger.learn(recipient, now)),
      release: (recipient, entryId) => serialized(recipient, ledger.release(recipient, entryId)),
      lastSent: (recipient) => serialized(recipient, ledger.lastSent(recipient))
    })
  })
)
