/**
 * The attachment as the server's `CIMMessageParamAttach::GetAttachByJson` keeps it: invalid blocks
 * and items dropped, kept fields normalised. Core measures this structure, not what the caller
 * wrote, because the server's size limit applies to it. Written from the server's PHP, apart from
 * the emulator's reading: `im/classes/general/im_message_param.php` of the newest stored `im` build
 * (GitHub yuliai/bitrix-modules, commit b2acc890, 2026-01-16; unchanged at its head of 2026-05-11),
 * with `Im\Text::convertHtmlToBbCode`, `Im\Text::convertSymbolsAfterJsonDecode` and
 * `Im\V2\Message\Color\Color::validateColor` of the same build.
 */
import type { PhpValue } from "./php.js"
import {
  field,
  intval,
  isAssociative,
  isHexColor,
  isPhpArray,
  isServerUrl,
  isSet,
  PhpTypeError,
  removeNewLine,
  stringOf,
  trim,
  valuesOf
} from "./php.js"
import { hasLoneSurrogate, phpJsonEncode } from "./phpJson.js"

type Kept = Record<string, PhpValue>

/** Where the server draws a random colour; every colour of its palette is `#rrggbb`, so its size is known. */
const randomColorStandIn = "#000000"

const positive = (target: Kept, key: string, value: PhpValue | undefined) => {
  if (isSet(value) && intval(value) > 0) target[key] = intval(value)
}

/** `Color::validateColor`: a value of the `Color` enum, else `"base"`; `Color::tryFrom` throws on an array. */
const colorTokenOf = (value: PhpValue | undefined): string => {
  if (!isSet(value)) return "base"
  if (isPhpArray(value)) throw new PhpTypeError("Color::tryFrom() takes string|int")
  return value === "primary" || value === "secondary" || value === "alert" || value === "base" ? value : "base"
}

/**
 * `Text::convertSymbolsAfterJsonDecode` over the decoded attachment: every string value has the two-character
 * sequences `\n`, `\t`, `\"`, `\\` replaced, in that order, by newline, tab, quote and one backslash. Keys stay.
 */
const unescapeSymbols = (value: PhpValue): PhpValue => {
  if (typeof value === "string") {
    return value.split("\\n").join("\n").split("\\t").join("\t").split('\\"').join('"').split("\\\\").join("\\")
  }
  if (!isPhpArray(value)) return value
  if (Array.isArray(value)) return value.map(unescapeSymbols)
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unescapeSymbols(item)]))
}

/** PCRE's `\s` (no UCP): the six ASCII white-space characters. */
const ws = "[\\t\\n\\x0B\\f\\r ]"
const wsOrQuote = "[\\t\\n\\x0B\\f\\r '\"]"
const htmlRules = {
  simple: /<([busi])[^>a-z]*>(.+?)<\/(\1)[^>a-z]*>/gisu,
  br: new RegExp(`<br${ws}*/*>`, "gisu"),
  quotedHref: new RegExp(`<a[^>]+href${ws}*=${ws}*('|")(.+?)(?:\\1)[^>]*>(.*?)</a[^>]*>`, "gisu"),
  bareHref: new RegExp(`<a[^>]+href(${ws}*=${ws}*)([^'">]+)>(.*?)</a[^>]*>`, "gisu"),
  fontColor: new RegExp(
    `<font[^>]+color${ws}*=${wsOrQuote}*#([0-9a-f]{3}|[0-9a-f]{6})${wsOrQuote}*>(.+?)</font[^>]*>`,
    "giu"
  ),
  spanColor: new RegExp(
    `<span[^>]+color${ws}*=${wsOrQuote}*#([0-9a-f]{3}|[0-9a-f]{6})${wsOrQuote}*>(.+?)</span[^>]*>`,
    "giu"
  ),
  fontSize: new RegExp(`<font[^>]+size${ws}*=${wsOrQuote}*([0-9]+)${wsOrQuote}*>(.+?)</font[^>]*>`, "giu"),
  div: /<div(?:.*?)>(.*?)<\/div>/giu,
  span: /<span(?:.*?)>(.*?)<\/span>/giu,
  font: /<font(?:.*?)>(.*?)<\/font>/giu
}

/** `preg_replace` in a `do … while ($replaced > 0)` loop. */
const replaceToFixpoint = (text: string, pattern: RegExp, replacement: string): string => {
  let before: string
  let after = text
  do {
    before = after
    after = before.replace(pattern, replacement)
  } while (after !== before)
  return after
}

/** `Text::convertHtmlToBbCode` of a string. */
const convertHtmlToBbCode = (html: string): string => {
  let text = html.split("&nbsp;").join(" ").split("<hr>").join("------[BR]").split("#BR#").join("[BR]")
  text = replaceToFixpoint(text, htmlRules.simple, "[$1]$2[/$1]")
  text = text.replace(htmlRules.br, "[br]")
  text = text.replace(htmlRules.quotedHref, "[url=$2]$3[/url]").replace(htmlRules.bareHref, "[url=$2]$3[/url]")
  text = text.replace(htmlRules.fontColor, "[color=#$1]$2[/color]")
  text = text.replace(htmlRules.spanColor, "[color=#$1]$2[/color]")
  text = text.replace(htmlRules.fontSize, "[size=$1]$2[/size]")
  text = replaceToFixpoint(text, htmlRules.div, "$1")
  text = replaceToFixpoint(text, htmlRules.span, "$1")
  return text.replace(htmlRules.font, "$1")
}

/** `SetDescription($text)`: `trim(convertHtmlToBbCode(removeNewLine($text)))`; an array fails in `trim`. */
const descriptionOf = (value: PhpValue): string => {
  if (isPhpArray(value)) throw new PhpTypeError("trim() takes a string")
  return trim(convertHtmlToBbCode(removeNewLine(stringOf(value))))
}

/** `htmlspecialcharsbx` with its default `ENT_COMPAT`: single quotes stay. */
const escapeHtml = (text: string): string =>
  text.replace(/[&"<>]/g, (character) => ({ "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" })[character]!)

/** `htmlspecialcharsbx(mb_substr($id, 0, 1)) . intval(mb_substr($id, 1))`. */
const networkId = (value: PhpValue): string => {
  const characters = Array.from(stringOf(value))
  return `${escapeHtml(characters[0] ?? "")}${intval(characters.slice(1).join(""))}`
}

const user = (params: PhpValue): Kept | undefined => {
  const name = field(params, "NAME")
  if (!isSet(name) || trim(name) === "") return undefined
  const kept: Kept = { NAME: removeNewLine(stringOf(name)), AVATAR_TYPE: "USER" }
  if (isSet(field(params, "NETWORK_ID"))) kept.NETWORK_ID = networkId(field(params, "NETWORK_ID")!)
  else if (intval(field(params, "USER_ID")) > 0) kept.USER_ID = intval(field(params, "USER_ID"))
  else if (intval(field(params, "CHAT_ID")) > 0) {
    kept.CHAT_ID = intval(field(params, "CHAT_ID"))
    kept.AVATAR_TYPE = "CHAT"
  } else if (intval(field(params, "BOT_ID")) > 0) {
    kept.BOT_ID = intval(field(params, "BOT_ID"))
    kept.AVATAR_TYPE = "BOT"
  } else if (isServerUrl(field(params, "LINK"))) kept.LINK = field(params, "LINK")!
  if (isServerUrl(field(params, "AVATAR"))) kept.AVATAR = field(params, "AVATAR")!
  const avatarType = field(params, "AVATAR_TYPE")
  if (avatarType === "CHAT" || avatarType === "USER" || avatarType === "BOT") kept.AVATAR_TYPE = avatarType
  return kept
}

const linkTarget = (params: PhpValue): Kept | undefined => {
  const named = isSet(field(params, "NAME"))
  if (isSet(field(params, "NETWORK_ID")) && named) return { NETWORK_ID: networkId(field(params, "NETWORK_ID")!) }
  if (intval(field(params, "USER_ID")) > 0 && named) return { USER_ID: intval(field(params, "USER_ID")) }
  if (intval(field(params, "CHAT_ID")) > 0 && named) return { CHAT_ID: intval(field(params, "CHAT_ID")) }
  if (isServerUrl(field(params, "LINK"))) return {}
  return undefined
}

const link = (params: PhpValue, rich: boolean): Kept | undefined => {
  const kept = linkTarget(params)
  if (kept === undefined) return undefined
  if (isSet(field(params, "NAME"))) kept.NAME = removeNewLine(trim(field(params, "NAME")))
  if (isSet(field(params, "LINK"))) kept.LINK = field(params, "LINK")!
  if (!rich) {
    // AddLink keeps DESC and HTML exactly as sent (no trim, no sanitiser in the newest build).
    if (isSet(field(params, "DESC"))) kept.DESC = field(params, "DESC")!
    if (isSet(field(params, "HTML"))) kept.HTML = field(params, "HTML")!
    else if (isServerUrl(field(params, "PREVIEW"))) {
      kept.PREVIEW = field(params, "PREVIEW")!
      positive(kept, "WIDTH", field(params, "WIDTH"))
      positive(kept, "HEIGHT", field(params, "HEIGHT"))
    }
    return kept
  }
  // AddRichLink trims DESC and HTML and turns their line breaks into spaces; HTML does not exclude PREVIEW.
  if (isSet(field(params, "DESC"))) kept.DESC = removeNewLine(trim(field(params, "DESC")))
  if (isSet(field(params, "HTML"))) kept.HTML = removeNewLine(trim(field(params, "HTML")))
  if (isServerUrl(field(params, "PREVIEW"))) {
    kept.PREVIEW = field(params, "PREVIEW")!
    const size = field(params, "PREVIEW_SIZE")
    kept.PREVIEW_SIZE = { HEIGHT: field(size, "HEIGHT") ?? 0, WIDTH: field(size, "WIDTH") ?? 0 }
  } else if (isServerUrl(field(params, "EXTRA_IMAGE"))) kept.EXTRA_IMAGE = field(params, "EXTRA_IMAGE")!
  return kept
}

/** `str_replace(['#BR#'], '[BR]', …)`: the only line-break code the newest build converts; real line breaks stay. */
const brCodes = (text: string) => text.split("#BR#").join("[BR]")

const gridItem = (item: PhpValue): Kept | undefined => {
  if (!isPhpArray(item)) return undefined
  const display = field(item, "DISPLAY")
  if (display !== "LINE") {
    const name = field(item, "NAME")
    const value = field(item, "VALUE")
    if ((!isSet(name) && !isSet(value)) || (trim(name) === "" && trim(value) === "")) return undefined
  }
  const kept: Kept = {}
  kept.DISPLAY =
    display === "COLUMN"
      ? "ROW"
      : display === "CARD"
        ? "LINE"
        : ["BLOCK", "LINE", "ROW", "TABLE"].includes(display as string)
          ? display!
          : "BLOCK"
  kept.NAME = removeNewLine(trim(field(item, "NAME")))
  kept.VALUE = brCodes(trim(field(item, "VALUE")))
  if (isHexColor(field(item, "COLOR"))) kept.COLOR = field(item, "COLOR")!
  positive(kept, "WIDTH", field(item, "WIDTH"))
  positive(kept, "HEIGHT", field(item, "HEIGHT"))
  positive(kept, "USER_ID", field(item, "USER_ID"))
  positive(kept, "CHAT_ID", field(item, "CHAT_ID"))
  if (isServerUrl(field(item, "LINK"))) kept.LINK = field(item, "LINK")!
  kept.COLOR_TOKEN = colorTokenOf(field(item, "COLOR_TOKEN"))
  return kept
}

const image = (item: PhpValue): Kept | undefined => {
  if (!isServerUrl(field(item, "LINK"))) return undefined
  const kept: Kept = {}
  if (isSet(field(item, "NAME")) && trim(field(item, "NAME")) !== "") kept.NAME = trim(field(item, "NAME"))
  kept.LINK = field(item, "LINK")!
  positive(kept, "WIDTH", field(item, "WIDTH"))
  positive(kept, "HEIGHT", field(item, "HEIGHT"))
  if (isServerUrl(field(item, "PREVIEW"))) kept.PREVIEW = field(item, "PREVIEW")!
  return kept
}

const file = (item: PhpValue): Kept | undefined => {
  if (!isServerUrl(field(item, "LINK"))) return undefined
  const kept: Kept = { LINK: field(item, "LINK")! }
  if (isSet(field(item, "NAME")) && trim(field(item, "NAME")) !== "")
    kept.NAME = removeNewLine(trim(field(item, "NAME")))
  positive(kept, "SIZE", field(item, "SIZE"))
  return kept
}

/** One item, or a list of items (`is_array && !isAssociative`). */
const itemsOf = (value: PhpValue): ReadonlyArray<PhpValue> =>
  isPhpArray(value) && !isAssociative(value) ? valuesOf(value) : [value]

/** A list, or one keyed item wrapped (the server's IMAGE and FILE handling). */
const listOf = (value: PhpValue): ReadonlyArray<PhpValue> =>
  isPhpArray(value) && isAssociative(value) ? [value] : valuesOf(value)

const kept = <A>(items: ReadonlyArray<A | undefined>): Array<A> => items.filter((item): item is A => item !== undefined)

/**
 * @returns the normalised attachment, or `undefined` when the server would find none (ATTACH_ERROR).
 */
export const normaliseAttachment = (input: PhpValue, nowSeconds: number): Kept | undefined => {
  let value: PhpValue = input
  if (typeof value === "string") {
    try {
      value = JSON.parse(value) as PhpValue
    } catch {
      return undefined
    }
  }
  if (!isPhpArray(value)) return undefined
  value = unescapeSymbols(value)
  const blocksValue = field(value, "BLOCKS")
  const full = isSet(blocksValue)
  const blocks = full ? blocksValue : value
  let color: PhpValue = randomColorStandIn
  const requested = full ? field(value, "COLOR") : undefined
  if (requested === "TRANSPARENT") color = "transparent"
  else if (isHexColor(requested)) color = requested!
  // setColorToken, then SetDescription (either may throw), before any block is read.
  const colorToken = colorTokenOf(full ? field(value, "COLOR_TOKEN") : undefined)
  let description = full && isSet(field(value, "DESCRIPTION")) ? descriptionOf(field(value, "DESCRIPTION")!) : ""
  const out: Array<Kept> = []
  for (const data of valuesOf(blocks)) {
    if (!isPhpArray(data)) continue
    if (isSet(field(data, "USER"))) {
      for (const added of kept(itemsOf(field(data, "USER")!).map(user))) out.push({ USER: [added] })
    } else if (isSet(field(data, "LINK"))) {
      for (const added of kept(itemsOf(field(data, "LINK")!).map((item) => link(item, false))))
        out.push({ LINK: [added] })
    } else if (isSet(field(data, "RICH_LINK"))) {
      for (const added of kept(itemsOf(field(data, "RICH_LINK")!).map((item) => link(item, true))))
        out.push({ RICH_LINK: [added] })
    } else if (isSet(field(data, "MESSAGE"))) {
      const message = field(data, "MESSAGE")!
      // `{TEXT, AS_DESCRIPTION}` when TEXT is set; otherwise the value itself, which fails in `trim` if an array.
      const structured = isPhpArray(message) && isSet(field(message, "TEXT"))
      const trimmed = trim(structured ? field(message, "TEXT") : message)
      if (trimmed !== "") {
        const text = brCodes(trimmed)
        if (structured && field(message, "AS_DESCRIPTION") === "Y") description = text
        out.push({ MESSAGE: text })
      }
    } else if (isSet(field(data, "GRID"))) {
      const items = kept(valuesOf(field(data, "GRID")!).map(gridItem))
      if (items.length > 0) out.push({ GRID: items })
    } else if (isSet(field(data, "IMAGE"))) {
      const items = kept(listOf(field(data, "IMAGE")!).map(image))
      if (items.length > 0) out.push({ IMAGE: items })
    } else if (isSet(field(data, "FILE"))) {
      const items = kept(listOf(field(data, "FILE")!).map(file))
      if (items.length > 0) out.push({ FILE: items })
    } else if (isSet(field(data, "DELIMITER"))) {
      const params = field(data, "DELIMITER")!
      const size = intval(field(params, "SIZE"))
      const delimiter: Kept = { SIZE: size > 0 ? size : 200 }
      if (isHexColor(field(params, "COLOR"))) delimiter.COLOR = field(params, "COLOR")!
      out.push({ DELIMITER: delimiter })
    }
  }
  if (out.length === 0) return undefined
  return { ID: nowSeconds, BLOCKS: out, DESCRIPTION: description, COLOR: color, COLOR_TOKEN: colorToken }
}

/**
 * The size the server measures: characters of `json_encode($normalised, JSON_UNESCAPED_UNICODE)`;
 * `Infinity` when the text is not valid UTF-8 (the server's encoder fails, which it reads as oversize).
 */
export const attachmentSize = (normalised: Kept): number => {
  const json = phpJsonEncode(normalised)
  if (hasLoneSurrogate(json)) return Number.POSITIVE_INFINITY
  let length = 0
  for (const _ of json) length++
  return length
}
