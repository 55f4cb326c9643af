/**
 * @linecast/telegram-relay: a grammY bot that relays Telegram messages to Bitrix24 users through an
 * open channel.
 *
 * @since 0.1.0
 */
export * from "./bot.js"
export * as MediaLinks from "./MediaLinks.js"
export * as Outcome from "./Outcome.js"
export * as Relay from "./Relay.js"
export * as RelayAlbums from "./RelayAlbums.js"
export * as RelayConfig from "./RelayConfig.js"
export * from "./RelayContext.js"
export * as RelayReports from "./RelayReports.js"
export * from "./runRelay.js"
export * from "./startRelay.js"
export * as TelegramEntities from "./TelegramEntities.js"
