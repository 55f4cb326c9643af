/**
 * The worker thread of `DeliveryWorker`: the whole of delivery (engine, dispatcher, workflows,
 * portal and recipient entities) on its own connection to the owner's database. It says `Ready`
 * once the runner is up, passes on the entries it saves (`Changed`, a message for what each turn of
 * its event loop saved), looks for work when told `Wake`, and on `Stop` closes the runner gracefully
 * and ends the thread.
 */
import { setPriority } from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { OpenChannel, RateBudget, TokenStore } from "@linecast/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import { Admission } from "../Admission.js"
import * as Delivery from "../Delivery.js"
import * as DeliveryDatabase from "../DeliveryDatabase.js"
import { EntryChanges } from "../EntryChanges.js"
import * as PortalChannels from "../PortalChannels.js"
import * as SqlTokenStore from "../SqlTokenStore.js"
import type { WorkerCommand, WorkerData, WorkerEvent } from "./workerProtocol.js"
import * as WriteTurns from "./writeTurns.js"

const data = workerData as WorkerData
const port = parentPort!

// Linux keeps a nice value for each thread, and `0` names the calling one: this thread stands back, the
// owner's does not. Where the system refuses it, the worker runs at the owner's priority, as before.
if (process.platform === "linux" && data.niceness > 0) {
  try {
    setPriority(0, data.niceness)
  } catch {
    // Nothing lost: only the scheduling differs.
  }
}
const say = (event: WorkerEvent) => port.postMessage(event)

// This thread's connection to the owner's SQLite file is the background one: it lets the owner's go first.
if (data.database.kind === "sqlite") WriteTurns.adopt(data.database.filename, data.database.turns)
const database = DeliveryDatabase.layer(
  data.database.kind === "postgres"
    ? { kind: "postgres", url: Redacted.make(data.database.url) }
    : { kind: "sqlite", filename: data.database.filename }
)
const channels =
  data.portals._tag === "Webhooks"
    ? PortalChannels.layerWebhooks(data.portals.portals).pipe(
        Layer.provide(Layer.merge(NodeHttpClient.layerUndici, TokenStore.layerMemory()))
      )
    : PortalChannels.layerSingle(data.portals.portal).pipe(
        Layer.provide(OpenChannel.layerConfig()),
        // OAuth tokens rotate at every refresh: the owner's thread reads them from the same table.
        Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layer(), SqlTokenStore.layer()))
      )
const runtime = ManagedRuntime.make(
  Delivery.layer(data.delivery).pipe(Layer.provide(channels), Layer.provideMerge(database))
)

/** What the runner saves, to the owner's outbox (its `changes`): all that is waiting, at each turn. */
const passChanges = Effect.scoped(
  Effect.gen(function* () {
    const changes = yield* Effect.flatMap(EntryChanges, (hub) => hub.subscribe)
    while (true) {
      const ids = yield* Queue.takeBetween(changes, 1, Number.MAX_SAFE_INTEGER)
      say({ _tag: "Changed", ids: [...ids] })
    }
  })
)

runtime.runPromise(Effect.void).then(
  () => {
    runtime.runFork(passChanges)
    say({ _tag: "Ready" })
  },
  (error: unknown) => {
    say({ _tag: "Failed", message: error instanceof Error ? error.message : String(error) })
    void runtime.dispose().finally(() => process.exit(1))
  }
)

port.on("message", (command: WorkerCommand) => {
  if (command._tag === "Wake") runtime.runFork(Effect.flatMap(Admission, (admission) => admission.wake))
  else void runtime.dispose().finally(() => process.exit(0))
})
