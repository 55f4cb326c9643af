/**
 * @linecast/crm-webhook: Bitrix24 CRM events in, open-channel messages out.
 *
 * @since 0.1.0
 */
export * as CrmEvent from "./CrmEvent.js"
export * as CrmListener from "./CrmListener.js"
export * as EventBinding from "./EventBinding.js"
export * as EventInbox from "./EventInbox.js"
export * as EventProcessor from "./EventProcessor.js"
export * as OfflineEvents from "./OfflineEvents.js"
export * as PrometheusMetrics from "./PrometheusMetrics.js"
export * as Rules from "./Rules.js"
export * as Template from "./Template.js"
