/**
 * The entries whose state this process's delivery changed (sent, dead, deferred, ...): a hint for
 * whoever tells people how their messages ended (the Telegram relay's reports), so that it looks at
 * those entries instead of reading every entry still on its way again and again. With a backlog of
 * thousands, the relay's look at all of them every few seconds cost its thread more than storing.
 *
 * Only a hint: changes made by another process (runners sharing PostgreSQL) are not heard of here,
 * a hint can come before its change is visible to another connection, and a listener too slow to
 * keep up loses the oldest; a listener still looks at everything now and then.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/**
 * Ids a listener may fall behind by before it loses the oldest (each a few dozen bytes): delivery
 * never waits for a listener.
 */
const capacity = 65_536

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Entries whose state was saved changed (after the save). */
  readonly publish: (ids: ReadonlyArray<string>) => Effect.Effect<void>
  /** The ids published from now on, for the life of the scope. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<string>, never, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EntryChanges extends Context.Tag("@linecast/delivery/EntryChanges")<EntryChanges, Service>() {}

/**
 * A hub for this process: nothing is kept when nobody listens.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.map(PubSub.sliding<string>(capacity), (hub) => ({
  publish: (ids) => (ids.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(hub, ids))),
  subscribe: PubSub.subscribe(hub)
}))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EntryChanges> = Layer.effect(EntryChanges, make)
