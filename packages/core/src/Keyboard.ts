/**
 * Keyboards (`KEYBOARD`): link buttons and row breaks only, which is what this method allows.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { optional, required, YesNo } from "./internal/wire.js"

const hexColor = Schema.String.pipe(Schema.pattern(/^#[a-fA-F0-9]{3}(?:[a-fA-F0-9]{3})?$/))

/**
 * A button that opens a link.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LinkButton = Schema.Struct({
  text: required(Schema.String, "TEXT"),
  link: required(Schema.String, "LINK"),
  block: optional(YesNo, "BLOCK"),
  disabled: optional(YesNo, "DISABLED"),
  display: optional(Schema.Literal("BLOCK", "LINE"), "DISPLAY"),
  context: optional(Schema.Literal("MOBILE", "DESKTOP", "ALL"), "CONTEXT"),
  width: optional(Schema.Int.pipe(Schema.positive()), "WIDTH"),
  bgColor: optional(hexColor, "BG_COLOR"),
  textColor: optional(hexColor, "TEXT_COLOR"),
  offBgColor: optional(hexColor, "OFF_BG_COLOR"),
  offTextColor: optional(hexColor, "OFF_TEXT_COLOR"),
  bgColorToken: optional(Schema.Literal("primary", "secondary", "alert", "base"), "BG_COLOR_TOKEN")
})

/**
 * @since 0.1.0
 * @category models
 */
export type LinkButton = typeof LinkButton.Type

/**
 * Starts a new row of buttons.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NewLine = Schema.Struct({ type: required(Schema.Literal("NEWLINE"), "TYPE") })

/**
 * @since 0.1.0
 * @category schemas
 */
export const KeyboardItem = Schema.Union(LinkButton, NewLine)

/**
 * A keyboard: `{BUTTONS: [...]}` on the wire, or the array of buttons alone.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Keyboard = Schema.Union(
  Schema.Struct({ buttons: required(Schema.Array(KeyboardItem), "BUTTONS") }),
  Schema.Array(KeyboardItem)
)

/**
 * @since 0.1.0
 * @category models
 */
export type Keyboard = typeof Keyboard.Type

/**
 * The row break.
 *
 * @since 0.1.0
 * @category builders
 */
export const newLine: typeof NewLine.Type = { type: "NEWLINE" }

/**
 * @since 0.1.0
 * @category builders
 */
export const button = (text: string, link: string, options: Omit<LinkButton, "text" | "link"> = {}): LinkButton => ({
  ...options,
  text,
  link
})

/**
 * A keyboard from rows of link buttons.
 *
 * @since 0.1.0
 * @category builders
 */
export const rows = (...rows: ReadonlyArray<ReadonlyArray<LinkButton>>): Keyboard => ({
  buttons: rows.flatMap(
    (row, index): ReadonlyArray<typeof KeyboardItem.Type> => (index === 0 ? row : [newLine, ...row])
  )
})
