/**
 * @linecast/node: Linecast for plain Node code.
 *
 * @since 0.1.0
 */

export { Attachment, BBCode, Keyboard } from "@linecast/core"
export * from "./createLinecast.js"
export * from "./LinecastError.js"
export * as LinecastService from "./LinecastService.js"
export * from "./mount.js"
