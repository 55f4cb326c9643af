/**
 * Delivery's metrics, as Effect `Metric`s: exported with whatever metrics layer the application
 * installs (the CRM listener serves them as Prometheus text).
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import { DeliveryState } from "./OutboxEntry.js"

/**
 * Messages accepted by `enqueue` (a repeated idempotency key is not counted again).
 *
 * @since 0.1.0
 * @category metrics
 */
export const enqueued = Metric.counter("linecast_delivery_enqueued", {
  description: "Messages accepted into the outbox"
})

/**
 * Entries entering each state (`queued`, `sending`, `sent`, `deferred`, `ambiguous`, `dead`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions = Metric.counter("linecast_delivery_transitions", {
  description: "Outbox entries entering a state, by state"
})

/** One tagged counter a state, made once: tagging makes a new metric and key, and a message enters three states. */
const enteredByState = new Map(
  DeliveryState.literals.map((state) => [state, Metric.increment(Metric.tagged(transitions, "state", state))] as const)
)

/**
 * @since 0.1.0
 * @category metrics
 */
export const entered = (state: DeliveryState) => enteredByState.get(state)!

/**
 * Messages per call to a portal: 1 for a single send, up to 50 for a packed `batch`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchSize = Metric.histogram(
  "linecast_delivery_batch_size",
  MetricBoundaries.fromIterable([1, 2, 5, 10, 20, 30, 40, 50]),
  "Messages per call to a portal"
)

/**
 * 1 while a portal's circuit breaker is open or probing, by portal.
 *
 * @since 0.1.0
 * @category metrics
 */
export const breakerOpen = Metric.gauge("linecast_delivery_breaker_open", {
  description: "1 while a portal's circuit breaker is open or probing"
})

/**
 * Admission rounds run by this process's dispatcher, by whether they admitted anything (`admitted`:
 * `yes` or `no`). A steady run of rounds that admit nothing is work for nothing: portals that are full
 * are looked at again when a place is freed, and for entries added, no sooner than every 50 ms.
 *
 * @since 0.1.0
 * @category metrics
 */
export const admissionRounds = Metric.counter("linecast_delivery_admission_rounds", {
  description: "Admission rounds run by the dispatcher, by whether they admitted anything"
})

const roundAdmitted = Metric.increment(Metric.tagged(admissionRounds, "admitted", "yes"))
const roundEmpty = Metric.increment(Metric.tagged(admissionRounds, "admitted", "no"))

/**
 * @since 0.1.0
 * @category metrics
 */
export const admissionRound = (admitted: number) => (admitted > 0 ? roundAdmitted : roundEmpty)
