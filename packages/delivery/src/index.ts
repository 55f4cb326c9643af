/**
 * @linecast/delivery: durable sending on Effect's cluster engine.
 *
 * @since 0.1.0
 */

export * as Admission from "./Admission.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as Delivery from "./Delivery.js"
export * as DeliveryDatabase from "./DeliveryDatabase.js"
export * from "./DeliveryError.js"
export * as DeliveryMetrics from "./DeliveryMetrics.js"
export * as DeliveryWorker from "./DeliveryWorker.js"
export * as DeliveryWorkflow from "./DeliveryWorkflow.js"
export * as EntryChanges from "./EntryChanges.js"
export * as GroupCommit from "./GroupCommit.js"
export * as Outbox from "./Outbox.js"
export * as OutboxEntry from "./OutboxEntry.js"
export * as OutboxStore from "./OutboxStore.js"
export * as PortalChannels from "./PortalChannels.js"
export * as PortalEntity from "./PortalEntity.js"
export * as PortalSender from "./PortalSender.js"
export * as PortalState from "./PortalState.js"
export * as RecipientEntity from "./RecipientEntity.js"
export * as RecipientLedger from "./RecipientLedger.js"
export * as SqlTokenStore from "./SqlTokenStore.js"
export * as WeeklyLedger from "./WeeklyLedger.js"
