/** What `DeliveryWorker` and its worker thread say to each other: plain data, cloned between threads. */
import type { DeliveryOptions } from "../Delivery.js"
import type { WorkerPortals } from "../DeliveryWorker.js"

export interface WorkerData {
  readonly database:
    | {
        readonly kind: "sqlite"
        readonly filename: string
        /** The words the owner's connections share with the worker's at the write lock (see `writeTurns`). */
        readonly turns: SharedArrayBuffer
      }
    | { readonly kind: "postgres"; readonly url: string }
  readonly portals: WorkerPortals
  readonly delivery: Omit<DeliveryOptions, "runner">
  /** The thread's nice value (Linux). */
  readonly niceness: number
}

/** From the owning thread: new work was stored (look now), or stop gracefully. */
export type WorkerCommand = { readonly _tag: "Wake" } | { readonly _tag: "Stop" }

/**
 * From the worker: its runner is up, or could not start; entries it saved (see `EntryChanges`); `Exited` is the
 * owner's own note of the thread's end.
 */
export type WorkerEvent =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "Changed"; readonly ids: ReadonlyArray<string> }
  | { readonly _tag: "Failed"; readonly message: string }
  | { readonly _tag: "Exited"; readonly code: number }
