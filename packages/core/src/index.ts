/**
 * @linecast/core: the Effect model of Bitrix24's `imopenlines.network.message.add`.
 *
 * @since 0.1.0
 */
export * as Attachment from "./Attachment.js"
export * as BBCode from "./BBCode.js"
export * as BitrixError from "./BitrixError.js"
export * as Keyboard from "./Keyboard.js"
export * as NetworkMessage from "./NetworkMessage.js"
export * as OpenChannel from "./OpenChannel.js"
export * as PortalAuth from "./PortalAuth.js"
export * as RateBudget from "./RateBudget.js"
export * as ResponseEnvelope from "./ResponseEnvelope.js"
export * as RetryPolicy from "./RetryPolicy.js"
export * as TokenStore from "./TokenStore.js"
