/**
 * @linecast/testkit: the shared test harness of Linecast.
 *
 * @since 0.1.0
 */
export * from "./Crm.js"
export * from "./Emulator.js"
export * from "./EmulatorClock.js"
export * from "./Faults.js"
export * from "./LeakyBucket.js"
export * from "./OAuthApp.js"
export * from "./OperatingTime.js"
export * from "./Portal.js"
export * as PortalEmulator from "./PortalEmulator.js"
export * from "./PortalEvents.js"
export * from "./startPortalEmulator.js"
export * from "./startTelegramEmulator.js"
export * from "./TelegramControl.js"
export * as TelegramEmulator from "./TelegramEmulator.js"
