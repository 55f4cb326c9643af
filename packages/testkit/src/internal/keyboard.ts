/**
 * The emulator's own reading of `Bitrix\Im\Bot\Keyboard::getKeyboardByJson` as
 * `imopenlines.network.message.add` calls it: with the caller's `BOT_ID` (normally none, so 0),
 * no options (so `FUNCTION` buttons are skipped) and no size check.
 */
import type { PhpValue } from "./php.js"
import { intval, isPhpArray, phpValues, stringOf, trim } from "./php.js"

/** A kept keyboard button or a row break, as the server stores it. */
export type NormalizedButton = Readonly<Record<string, PhpValue>>

const urlPattern = /^(?:\/|https?:\/\/)/
const colorPattern = /^#([a-fA-F0-9]){3}(([a-fA-F0-9]){3})?\b$/
const actions = ["PUT", "SEND", "COPY", "CALL", "DIALOG", "LIVECHAT", "HELP"]
const colorKeys = ["BG_COLOR", "TEXT_COLOR", "OFF_BG_COLOR", "OFF_TEXT_COLOR"] as const

const field = (value: PhpValue | undefined, key: string): PhpValue | undefined =>
  isPhpArray(value) && !Array.isArray(value) ? (value as Record<string, PhpValue>)[key] : undefined

const isFilledString = (value: PhpValue | undefined): value is string =>
  typeof value === "string" && value !== "" && value !== "0"

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const button = (
  params: PhpValue,
  botId: number,
  colors: Record<string, PhpValue>,
  vote: boolean
): NormalizedButton | undefined => {
  const text = field(params, "TEXT")
  if (!isFilledString(text) || trim(text) === "") return undefined
  const result: Record<string, PhpValue> = { BOT_ID: botId, TYPE: "BUTTON" }
  const link = field(params, "LINK")
  const appId = field(params, "APP_ID")
  const action = field(params, "ACTION")
  const command = field(params, "COMMAND")
  if (isFilledString(link) && urlPattern.test(link)) result.LINK = escapeHtml(link)
  else if (appId !== undefined && appId !== null && intval(appId) !== 0) {
    result.APP_ID = intval(appId)
    const appParams = field(params, "APP_PARAMS")
    result.APP_PARAMS = isFilledString(appParams) ? appParams : ""
  } else if (
    typeof action === "string" &&
    actions.includes(action) &&
    trim(stringOf(field(params, "ACTION_VALUE") ?? null)) !== ""
  ) {
    result.ACTION = action
    result.ACTION_VALUE = field(params, "ACTION_VALUE")!
  } else if (botId > 0 && isFilledString(command) && trim(command) !== "") {
    result.COMMAND = command.replace(/^\//, "")
    const commandParams = field(params, "COMMAND_PARAMS")
    result.COMMAND_PARAMS = isFilledString(commandParams) ? commandParams : ""
  } else return undefined
  result.TEXT = trim(text)
  result.VOTE = vote ? "Y" : "N"
  result.BLOCK = field(params, "BLOCK") === "Y" ? "Y" : "N"
  result.WAIT = "N"
  const context = field(params, "CONTEXT")
  result.CONTEXT = context === "MOBILE" || context === "DESKTOP" ? context : "ALL"
  result.DISABLED = field(params, "DISABLED") === "Y" ? "Y" : "N"
  result.DISPLAY = field(params, "DISPLAY") === "LINE" ? "LINE" : "BLOCK"
  const width = intval(field(params, "WIDTH") ?? 0)
  if (width > 0) result.WIDTH = width
  for (const key of colorKeys) {
    const own = field(params, key)
    const fallback = colors[key]
    if (typeof own === "string" && colorPattern.test(own)) result[key] = own
    else if (typeof fallback === "string" && colorPattern.test(fallback)) result[key] = fallback
  }
  // Documented but ignored by the stored server code: kept so that a client's intent is visible.
  const token = field(params, "BG_COLOR_TOKEN")
  if (typeof token === "string") result.BG_COLOR_TOKEN = token
  return result
}

/**
 * Normalises a `KEYBOARD` parameter; `undefined` (the server's `KEYBOARD_ERROR`) when it holds no
 * button and no row break. A keyboard without a `BUTTONS` key is taken as the list of buttons.
 */
export const normalizeKeyboard = (
  raw: PhpValue,
  callerBotId: PhpValue | undefined
): Array<NormalizedButton> | undefined => {
  const hasButtonsKey = field(raw, "BUTTONS") !== undefined && field(raw, "BUTTONS") !== null
  const keyboard = hasButtonsKey ? (raw as Record<string, PhpValue>) : { BUTTONS: raw }
  const botId = intval(callerBotId ?? null)
  const colorsValue = keyboard.COLORS
  const colors = isPhpArray(colorsValue) && !Array.isArray(colorsValue) ? (colorsValue as Record<string, PhpValue>) : {}
  const vote = keyboard.VOTE === "Y"
  const buttons = keyboard.BUTTONS
  const kept: Array<NormalizedButton> = []
  for (const item of isPhpArray(buttons) ? phpValues(buttons) : []) {
    if (field(item, "TYPE") === "NEWLINE") kept.push({ TYPE: "NEWLINE" })
    else if (field(item, "FUNCTION") !== undefined && field(item, "FUNCTION") !== null) continue
    else {
      const added = button(item, botId, colors, vote)
      if (added) kept.push(added)
    }
  }
  return kept.length > 0 ? kept : undefined
}
