/**
 * The keyboard as the server's `Bitrix\Im\Bot\Keyboard::getKeyboardByJson` keeps it for this method
 * (bot id 0): row breaks, and buttons with a non-blank TEXT and a LINK, APP_ID or ACTION; FUNCTION
 * and COMMAND buttons dropped. Written from the server's PHP, apart from the emulator's reading.
 */
import type { PhpValue } from "./php.js"
import { field, isEmpty, isPhpArray, isServerUrl, isSet, trim, valuesOf } from "./php.js"

const actions = ["PUT", "SEND", "COPY", "CALL", "DIALOG", "LIVECHAT", "HELP"]

const keptButton = (button: PhpValue): boolean => {
  const text = field(button, "TEXT")
  if (isEmpty(text) || typeof text !== "string" || trim(text) === "") return false
  const link = field(button, "LINK")
  if (!isEmpty(link) && typeof link === "string" && isServerUrl(link)) return true
  if (!isEmpty(field(button, "APP_ID"))) return true
  const action = field(button, "ACTION")
  return typeof action === "string" && actions.includes(action) && trim(field(button, "ACTION_VALUE")) !== ""
}

/** How many buttons and row breaks the server keeps; 0 means KEYBOARD_ERROR. */
export const keptKeyboardItems = (keyboard: PhpValue): number => {
  const buttons = isSet(field(keyboard, "BUTTONS")) ? field(keyboard, "BUTTONS") : keyboard
  let count = 0
  for (const button of isPhpArray(buttons) ? valuesOf(buttons) : []) {
    if (field(button, "TYPE") === "NEWLINE") count++
    else if (isSet(field(button, "FUNCTION"))) continue
    else if (keptButton(button)) count++
  }
  return count
}
