/**
 * BB-code text for `MESSAGE`, built so that text from outside (a CRM field, a Telegram message)
 * cannot inject markup: every plain string is escaped; only the builders produce tags.
 *
 * Bitrix24 has no escape sequence for BB codes. Core breaks would-be markup with an invisible
 * U+2060 WORD JOINER after every `[` (so `[b]` can never form a tag), inside `>>` at a line start
 * (a quote) and inside runs of `-` (the `------` quote rule). The recipient sees the same characters.
 *
 * @since 0.1.0
 */

const TypeId: unique symbol = Symbol.for("@linecast/core/BBCode")

/**
 * Text that is safe to send: its markup came from the builders only.
 *
 * @since 0.1.0
 * @category models
 */
export interface BBCode {
  readonly [TypeId]: typeof TypeId
  readonly value: string
}

/**
 * Plain text or built markup.
 *
 * @since 0.1.0
 * @category models
 */
export type Content = string | BBCode | ReadonlyArray<string | BBCode>

const joiner = "\u2060"

const unsafe = (value: string): BBCode => ({ [TypeId]: TypeId, value })

/**
 * @since 0.1.0
 * @category guards
 */
export const isBBCode = (value: unknown): value is BBCode =>
  typeof value === "object" && value !== null && TypeId in value

/**
 * Escapes plain text: no tag, quote or line rule can form from it.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeText = (text: string): string =>
  text
    .replaceAll("[", `[${joiner}`)
    .replace(/^(\s*)>>/gm, `$1>${joiner}>`)
    .replace(/-{2,}/g, (run) => run.split("").join(joiner))

const render = (content: Content): string =>
  typeof content === "string"
    ? escapeText(content)
    : isBBCode(content)
      ? content.value
      : (content as ReadonlyArray<string | BBCode>).map(render).join("")

/**
 * Plain text, escaped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (value: string): BBCode => unsafe(escapeText(value))

/**
 * Markup written by hand and trusted as is. Never pass outside text here.
 *
 * @since 0.1.0
 * @category constructors
 */
export const raw = (value: string): BBCode => unsafe(value)

/**
 * Joins pieces; strings are escaped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const concat = (...pieces: ReadonlyArray<Content>): BBCode => unsafe(pieces.map(render).join(""))

/**
 * A template tag: `` BBCode.bb`Deal ${title} is won` `` escapes every interpolated string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bb = (strings: TemplateStringsArray, ...values: ReadonlyArray<Content | number>): BBCode =>
  unsafe(
    strings.reduce((out, piece, index) => {
      const value = values[index - 1]
      return out + (typeof value === "number" ? String(value) : render(value as Content)) + piece
    })
  )

const wrap =
  (tag: string) =>
  (content: Content): BBCode =>
    unsafe(`[${tag}]${render(content)}[/${tag}]`)

/**
 * @since 0.1.0
 * @category tags
 */
export const bold = wrap("b")

/**
 * @since 0.1.0
 * @category tags
 */
export const italic = wrap("i")

/**
 * @since 0.1.0
 * @category tags
 */
export const underline = wrap("u")

/**
 * @since 0.1.0
 * @category tags
 */
export const strike = wrap("s")

/**
 * A quote block.
 *
 * @since 0.1.0
 * @category tags
 */
export const quote = wrap("quote")

/**
 * Code, shown as written.
 *
 * @since 0.1.0
 * @category tags
 */
export const code = wrap("code")

/**
 * A line break.
 *
 * @since 0.1.0
 * @category tags
 */
export const lineBreak: BBCode = unsafe("[br]")

/**
 * A link. Only `http://`, `https://` and `/` URLs make a link; anything else (`javascript:`...) is
 * rendered as escaped text. Characters that would close the tag are percent-encoded.
 *
 * @since 0.1.0
 * @category tags
 */
export const link = (url: string, label?: Content): BBCode => {
  if (!/^(?:https?:\/\/|\/)/i.test(url)) return label === undefined ? text(url) : concat(label)
  const safeUrl = url.replace(/[[\]\s"]/g, (character) => encodeURIComponent(character))
  return unsafe(`[url=${safeUrl}]${render(label ?? url)}[/url]`)
}

/**
 * A mention of a portal user, `[USER=id]name[/USER]`.
 *
 * @since 0.1.0
 * @category tags
 */
export const mention = (userId: number, name: Content): BBCode => {
  if (!Number.isSafeInteger(userId) || userId <= 0) return unsafe(render(name))
  return unsafe(`[USER=${userId}]${render(name)}[/USER]`)
}

/**
 * The text to put in `message`.
 *
 * @since 0.1.0
 * @category destructors
 */
export const toText = (content: Content): string => render(content)
