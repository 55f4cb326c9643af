/**
 * The emulator's own reading of the `im` module's `CIMMessageParamAttach::GetAttachByJson`:
 * it normalises an `ATTACH` parameter the way the server does (invalid blocks and items dropped
 * silently, only the kept fields kept) and measures it the way the server measures it.
 * Read from `im/classes/general/im_message_param.php` of the newest stored `im` build
 * (yuliai/bitrix-modules, commit b2acc890 of 2026-01-16, unchanged to 2026-05-11), with
 * `Im\Text::convertHtmlToBbCode`, `Im\Text::convertSymbolsAfterJsonDecode` and
 * `Im\V2\Message\Color\Color::validateColor` from the same build.
 */
import type { PhpValue } from "./php.js"
import { intval, isAssociative, isPhpArray, PhpTypeError, phpValues, stringOf, trim } from "./php.js"

/** A normalised attachment, as the server stores it. */
export interface NormalizedAttach {
  readonly ID: number
  readonly BLOCKS: ReadonlyArray<Record<string, PhpValue>>
  readonly DESCRIPTION: string
  readonly COLOR: string
  readonly COLOR_TOKEN: string
}

const urlPattern = /^(?:\/|https?:\/\/)/
const colorPattern = /^#([a-fA-F0-9]){3}(([a-fA-F0-9]){3})?\b$/

/** The palette `Bitrix\Im\Color::getRandomColor` draws from (all `#rrggbb`, so the size is the same). */
const palette = ["#df532d", "#64a513", "#4ba984", "#4ba5c3", "#3e99ce", "#8474c8", "#1eb4aa", "#f76187", "#58cc47"]

const isUrl = (value: PhpValue | undefined): boolean =>
  value !== undefined && value !== null && urlPattern.test(stringOf(value))
const isSet = (value: PhpValue | undefined): value is PhpValue => value !== undefined && value !== null
const removeNewLine = (text: string) => text.replace(/\r\n|[\n\v\f\r\x85\u2028\u2029]/g, " ")

/** `Color::validateColor`: one of the enum's values, else `base`; `tryFrom` throws on an array. */
const colorTokens = new Set(["primary", "secondary", "alert", "base"])
const colorToken = (value: PhpValue | undefined): string => {
  if (!isSet(value)) return "base"
  if (isPhpArray(value)) throw new PhpTypeError("Color::tryFrom(): Argument #1 must be of type string|int, array given")
  return typeof value === "string" && colorTokens.has(value) ? value : "base"
}

/**
 * `Text::convertSymbolsAfterJsonDecode`, applied to the whole decoded attachment: in every string value
 * `\n`, `\t`, `\"` and `\\` (written as two characters) become the character, one search after the other.
 */
const convertSymbols = (value: PhpValue): PhpValue => {
  if (typeof value === "string")
    return value.replaceAll("\\n", "\n").replaceAll("\\t", "\t").replaceAll('\\"', '"').replaceAll("\\\\", "\\")
  if (Array.isArray(value)) return value.map(convertSymbols)
  if (isPhpArray(value)) {
    const out: Record<string, PhpValue> = {}
    for (const [key, item] of Object.entries(value)) out[key] = convertSymbols(item)
    return out
  }
  return value
}

/** PCRE's `\s` without UCP: ASCII white space only. */
const sp = "[ \\t\\n\\x0B\\f\\r]"
const repeatUntilStable = (text: string, pattern: RegExp, replacement: string): string => {
  let current = text
  for (;;) {
    const next = current.replace(pattern, replacement)
    if (next === current) return current
    current = next
  }
}
const bbTag = /<([busi])[^>a-z]*>(.+?)<\/(\1)[^>a-z]*>/gisu
const brTag = new RegExp(`<br${sp}*\\/*>`, "gisu")
const quotedAnchor = new RegExp(`<a[^>]+href${sp}*=${sp}*('|")(.+?)(?:\\1)[^>]*>(.*?)</a[^>]*>`, "gisu")
const bareAnchor = new RegExp(`<a[^>]+href(${sp}*=${sp}*)([^'">]+)>(.*?)</a[^>]*>`, "gisu")
const fontColor = new RegExp(
  `<font[^>]+color${sp}*=[ \\t\\n\\x0B\\f\\r'"]*#([0-9a-f]{3}|[0-9a-f]{6})[ \\t\\n\\x0B\\f\\r'"]*>(.+?)<\\/font[^>]*>`,
  "giu"
)
const spanColor = new RegExp(
  `<span[^>]+color${sp}*=[ \\t\\n\\x0B\\f\\r'"]*#([0-9a-f]{3}|[0-9a-f]{6})[ \\t\\n\\x0B\\f\\r'"]*>(.+?)<\\/span[^>]*>`,
  "giu"
)
const fontSize = new RegExp(
  `<font[^>]+size${sp}*=[ \\t\\n\\x0B\\f\\r'"]*(\\d+)[ \\t\\n\\x0B\\f\\r'"]*>(.+?)<\\/font[^>]*>`,
  "giu"
)

/** `Text::convertHtmlToBbCode` for a string. */
const htmlToBbCode = (html: string): string => {
  let text = html.replaceAll("&nbsp;", " ").replaceAll("<hr>", "------[BR]").replaceAll("#BR#", "[BR]")
  text = repeatUntilStable(text, bbTag, "[$1]$2[/$1]")
  text = text.replace(brTag, "[br]")
  text = text.replace(quotedAnchor, "[url=$2]$3[/url]").replace(bareAnchor, "[url=$2]$3[/url]")
  text = text.replace(fontColor, "[color=#$1]$2[/color]").replace(spanColor, "[color=#$1]$2[/color]")
  text = text.replace(fontSize, "[size=$1]$2[/size]")
  text = repeatUntilStable(text, /<div(?:.*?)>(.*?)<\/div>/giu, "$1")
  text = repeatUntilStable(text, /<span(?:.*?)>(.*?)<\/span>/giu, "$1")
  return text.replace(/<font(?:.*?)>(.*?)<\/font>/giu, "$1")
}

/** `SetDescription`: new lines to spaces, HTML to BB-code, trimmed; an array reaches `trim` and throws. */
const setDescription = (value: PhpValue): string => {
  if (isPhpArray(value)) throw new PhpTypeError("trim(): Argument #1 ($string) must be of type string, array given")
  return trim(htmlToBbCode(removeNewLine(stringOf(value))))
}

const field = (value: PhpValue | undefined, key: string): PhpValue | undefined =>
  isPhpArray(value) && !Array.isArray(value) ? (value as Record<string, PhpValue>)[key] : undefined

const positive = (value: PhpValue | undefined): number | undefined => {
  if (!isSet(value)) return undefined
  const number = intval(value)
  return number > 0 ? number : undefined
}

const networkId = (value: PhpValue): string => {
  const text = [...stringOf(value)]
  const first = (text[0] ?? "")
    .replace(/&/g, "&amp;")
    .replace(/"/g, "&quot;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
  return `${first}${intval(text.slice(1).join(""))}`
}

const user = (params: PhpValue): Record<string, PhpValue> | undefined => {
  const name = field(params, "NAME")
  if (!isSet(name) || trim(stringOf(name)) === "") return undefined
  const result: Record<string, PhpValue> = { NAME: removeNewLine(stringOf(name)), AVATAR_TYPE: "USER" }
  const link = field(params, "LINK")
  if (isSet(field(params, "NETWORK_ID"))) result.NETWORK_ID = networkId(field(params, "NETWORK_ID")!)
  else if (positive(field(params, "USER_ID")) !== undefined) result.USER_ID = positive(field(params, "USER_ID"))!
  else if (positive(field(params, "CHAT_ID")) !== undefined) {
    result.CHAT_ID = positive(field(params, "CHAT_ID"))!
    result.AVATAR_TYPE = "CHAT"
  } else if (positive(field(params, "BOT_ID")) !== undefined) {
    result.BOT_ID = positive(field(params, "BOT_ID"))!
    result.AVATAR_TYPE = "BOT"
  } else if (isSet(link) && isUrl(link)) result.LINK = link
  const avatar = field(params, "AVATAR")
  if (isSet(avatar) && isUrl(avatar)) result.AVATAR = avatar
  const avatarType = field(params, "AVATAR_TYPE")
  if (avatarType === "CHAT" || avatarType === "USER" || avatarType === "BOT") result.AVATAR_TYPE = avatarType
  return result
}

/** The identity part shared by LINK and RICH_LINK; undefined when the item is invalid. */
const linkIdentity = (params: PhpValue): Record<string, PhpValue> | undefined => {
  const name = field(params, "NAME")
  const link = field(params, "LINK")
  if (isSet(field(params, "NETWORK_ID")) && isSet(name)) return { NETWORK_ID: networkId(field(params, "NETWORK_ID")!) }
  const userId = positive(field(params, "USER_ID"))
  if (userId !== undefined && isSet(name)) return { USER_ID: userId }
  const chatId = positive(field(params, "CHAT_ID"))
  if (chatId !== undefined && isSet(name)) return { CHAT_ID: chatId }
  if (!isSet(link) || !isUrl(link)) return undefined
  return {}
}

const link = (params: PhpValue): Record<string, PhpValue> | undefined => {
  const result = linkIdentity(params)
  if (result === undefined) return undefined
  const name = field(params, "NAME")
  if (isSet(name)) result.NAME = removeNewLine(trim(stringOf(name)))
  if (isSet(field(params, "LINK"))) result.LINK = field(params, "LINK")!
  if (isSet(field(params, "DESC"))) result.DESC = field(params, "DESC")!
  if (isSet(field(params, "HTML"))) result.HTML = field(params, "HTML")!
  else if (isUrl(field(params, "PREVIEW"))) {
    result.PREVIEW = field(params, "PREVIEW")!
    const width = positive(field(params, "WIDTH"))
    const height = positive(field(params, "HEIGHT"))
    if (width !== undefined) result.WIDTH = width
    if (height !== undefined) result.HEIGHT = height
  }
  return result
}

const richLink = (params: PhpValue): Record<string, PhpValue> | undefined => {
  const result = linkIdentity(params)
  if (result === undefined) return undefined
  const name = field(params, "NAME")
  if (isSet(name)) result.NAME = removeNewLine(trim(stringOf(name)))
  if (isSet(field(params, "LINK"))) result.LINK = field(params, "LINK")!
  if (isSet(field(params, "DESC"))) result.DESC = removeNewLine(trim(stringOf(field(params, "DESC")!)))
  if (isSet(field(params, "HTML"))) result.HTML = removeNewLine(trim(stringOf(field(params, "HTML")!)))
  if (isUrl(field(params, "PREVIEW"))) {
    result.PREVIEW = field(params, "PREVIEW")!
    // `$params['PREVIEW_SIZE']['HEIGHT'] ?? 0`: kept as sent, not cast.
    const size = field(params, "PREVIEW_SIZE")
    result.PREVIEW_SIZE = { HEIGHT: field(size, "HEIGHT") ?? 0, WIDTH: field(size, "WIDTH") ?? 0 }
  } else if (isUrl(field(params, "EXTRA_IMAGE"))) result.EXTRA_IMAGE = field(params, "EXTRA_IMAGE")!
  return result
}

const gridItem = (item: PhpValue): Record<string, PhpValue> | undefined => {
  if (!isPhpArray(item) || Array.isArray(item)) return undefined
  const display = field(item, "DISPLAY")
  const name = field(item, "NAME")
  const value = field(item, "VALUE")
  if (display !== "LINE") {
    if (!isSet(name) && !isSet(value)) return undefined
    if (trim(stringOf(name ?? null)) === "" && trim(stringOf(value ?? null)) === "") return undefined
  }
  const known = ["BLOCK", "LINE", "CARD", "ROW", "COLUMN", "TABLE"]
  const kept = typeof display === "string" && known.includes(display) ? display : "BLOCK"
  const result: Record<string, PhpValue> = {
    DISPLAY: kept === "COLUMN" ? "ROW" : kept === "CARD" ? "LINE" : kept,
    NAME: removeNewLine(trim(stringOf(name ?? null))),
    VALUE: trim(stringOf(value ?? null)).replaceAll("#BR#", "[BR]")
  }
  const color = field(item, "COLOR")
  if (isSet(color) && colorPattern.test(stringOf(color))) result.COLOR = color
  for (const key of ["WIDTH", "HEIGHT", "USER_ID", "CHAT_ID"] as const) {
    const number = positive(field(item, key))
    if (number !== undefined) result[key] = number
  }
  if (isUrl(field(item, "LINK"))) result.LINK = field(item, "LINK")!
  result.COLOR_TOKEN = colorToken(field(item, "COLOR_TOKEN"))
  return result
}

const image = (item: PhpValue): Record<string, PhpValue> | undefined => {
  if (!isUrl(field(item, "LINK"))) return undefined
  const result: Record<string, PhpValue> = {}
  const name = field(item, "NAME")
  if (isSet(name) && trim(stringOf(name)) !== "") result.NAME = trim(stringOf(name))
  result.LINK = field(item, "LINK")!
  const width = positive(field(item, "WIDTH"))
  const height = positive(field(item, "HEIGHT"))
  if (width !== undefined) result.WIDTH = width
  if (height !== undefined) result.HEIGHT = height
  if (isUrl(field(item, "PREVIEW"))) result.PREVIEW = field(item, "PREVIEW")!
  return result
}

const file = (item: PhpValue): Record<string, PhpValue> | undefined => {
  if (!isUrl(field(item, "LINK"))) return undefined
  const result: Record<string, PhpValue> = { LINK: field(item, "LINK")! }
  const name = field(item, "NAME")
  if (isSet(name) && trim(stringOf(name)) !== "") result.NAME = removeNewLine(trim(stringOf(name)))
  const size = positive(field(item, "SIZE"))
  if (size !== undefined) result.SIZE = size
  return result
}

/** Items of a block value that may be one item or a list of them. */
const oneOrMany = (value: PhpValue, listIsAssociativeTest: "list" | "map"): Array<PhpValue> => {
  if (listIsAssociativeTest === "list") {
    return isPhpArray(value) && !isAssociative(value) ? phpValues(value) : [value]
  }
  if (isAssociative(value)) return [value]
  return isPhpArray(value) ? phpValues(value) : []
}

/**
 * Normalises an attachment as the server does; `undefined` when it is not an array (or a JSON
 * string of one) or no block survives. Throws `PhpTypeError` where PHP 8 would throw.
 */
export const normalizeAttach = (raw: PhpValue, now: number, random: () => number): NormalizedAttach | undefined => {
  let value: PhpValue = raw
  if (typeof value === "string") {
    try {
      value = JSON.parse(value) as PhpValue
    } catch {
      return undefined
    }
  }
  if (!isPhpArray(value)) return undefined
  value = convertSymbols(value)
  const blocksValue = field(value, "BLOCKS")
  const full = isSet(blocksValue)
  const blocks = full ? blocksValue : value
  // The constructor draws a random colour; only a valid COLOR or TRANSPARENT in the full form replaces it.
  let color = palette[Math.floor(random() * palette.length)]!
  const requested = full ? field(value, "COLOR") : undefined
  if (isSet(requested) && requested !== "CHAT") {
    if (requested === "TRANSPARENT") color = "transparent"
    else if (typeof requested === "string" && colorPattern.test(requested)) color = requested
  }
  // SetColor, setColorToken, SetDescription, in the server's order (each may throw before the blocks are read).
  const token = colorToken(full ? field(value, "COLOR_TOKEN") : undefined)
  const requestedDescription = full ? field(value, "DESCRIPTION") : undefined
  let description = isSet(requestedDescription) ? setDescription(requestedDescription) : ""
  const kept: Array<Record<string, PhpValue>> = []
  for (const data of isPhpArray(blocks) ? phpValues(blocks) : []) {
    if (!isPhpArray(data) || Array.isArray(data)) continue
    const block = data as Record<string, PhpValue>
    if (isSet(block.USER)) {
      for (const item of oneOrMany(block.USER, "list")) {
        const added = user(item)
        if (added) kept.push({ USER: [added] })
      }
    } else if (isSet(block.LINK)) {
      for (const item of oneOrMany(block.LINK, "list")) {
        const added = link(item)
        if (added) kept.push({ LINK: [added] })
      }
    } else if (isSet(block.RICH_LINK)) {
      for (const item of oneOrMany(block.RICH_LINK, "list")) {
        const added = richLink(item)
        if (added) kept.push({ RICH_LINK: [added] })
      }
    } else if (isSet(block.MESSAGE)) {
      const message = block.MESSAGE
      const text = isPhpArray(message) && isSet(field(message, "TEXT")) ? field(message, "TEXT")! : message
      const asDescription = isPhpArray(message) && field(message, "AS_DESCRIPTION") === "Y"
      const trimmed = trim(stringOf(text))
      if (trimmed !== "") {
        const kept_ = trimmed.replaceAll("#BR#", "[BR]")
        if (asDescription) description = kept_
        kept.push({ MESSAGE: kept_ })
      }
    } else if (isSet(block.GRID)) {
      const items = (isPhpArray(block.GRID) ? phpValues(block.GRID) : [])
        .map(gridItem)
        .filter((item) => item !== undefined)
      if (items.length > 0) kept.push({ GRID: items })
    } else if (isSet(block.IMAGE)) {
      const items = oneOrMany(block.IMAGE, "map")
        .map(image)
        .filter((item) => item !== undefined)
      if (items.length > 0) kept.push({ IMAGE: items })
    } else if (isSet(block.FILE)) {
      const items = oneOrMany(block.FILE, "map")
        .map(file)
        .filter((item) => item !== undefined)
      if (items.length > 0) kept.push({ FILE: items })
    } else if (isSet(block.DELIMITER)) {
      const params = block.DELIMITER
      const size = intval(field(params, "SIZE") ?? 0)
      const delimiter: Record<string, PhpValue> = { SIZE: size > 0 ? size : 200 }
      const delimiterColor = field(params, "COLOR")
      if (isSet(delimiterColor) && colorPattern.test(stringOf(delimiterColor))) delimiter.COLOR = delimiterColor
      kept.push({ DELIMITER: delimiter })
    }
  }
  if (kept.length === 0) return undefined
  return { ID: Math.floor(now / 1000), BLOCKS: kept, DESCRIPTION: description, COLOR: color, COLOR_TOKEN: token }
}

const hasLoneSurrogate = (text: string): boolean =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)

/**
 * The length the server measures: `mb_strlen(Json::encode($attach, JSON_UNESCAPED_UNICODE))`.
 * Slashes are escaped, non-ASCII is kept and counted per character. A string that is not valid
 * UTF-8 makes `json_encode` fail, which the server reads as "too large".
 */
export const attachSize = (attach: NormalizedAttach): number => {
  let failed = false
  const encode = (value: unknown): string => {
    if (value === null || value === undefined) return "null"
    if (typeof value === "boolean") return value ? "true" : "false"
    if (typeof value === "number") return Number.isFinite(value) ? String(value) : "0"
    if (typeof value === "string") {
      if (hasLoneSurrogate(value)) failed = true
      // PHP also escapes U+2028/U+2029 unless JSON_UNESCAPED_LINE_TERMINATORS is given.
      return JSON.stringify(value)
        .replaceAll("/", "\\/")
        .replaceAll("\u2028", "\\u2028")
        .replaceAll("\u2029", "\\u2029")
    }
    if (Array.isArray(value)) return `[${value.map(encode).join(",")}]`
    const entries = Object.entries(value as Record<string, unknown>)
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${encode(item)}`).join(",")}}`
  }
  const json = encode(attach)
  return failed ? Number.POSITIVE_INFINITY : [...json].length
}
