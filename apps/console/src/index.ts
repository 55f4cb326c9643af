/**
 * @linecast/console: the operator console (outbox, dead letters, quota, portal health, previews).
 *
 * @since 0.1.0
 */
export * as Console from "./Console.js"
export * as ConsoleAccess from "./ConsoleAccess.js"
export * as ConsoleApi from "./ConsoleApi.js"
export * as ConsoleAssets from "./ConsoleAssets.js"
export * as DeadLetterReason from "./DeadLetterReason.js"
export * as DemoInbox from "./DemoInbox.js"
export * as MessagePreview from "./MessagePreview.js"
export * as PortalStatus from "./PortalStatus.js"
