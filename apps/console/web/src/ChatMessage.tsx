/** A message as a Bitrix24 chat shows it: the text with its BB codes, attachment blocks, the link keyboard. */
import type { ComponentChildren } from "preact"
import { type BBNode, parse, safeColor, safeHref } from "./bbcode"

const Link = ({ href, children }: { readonly href: string | undefined; readonly children: ComponentChildren }) => {
  const safe = safeHref(href)
  return safe === undefined ? (
    <span class="unsafe-link" title="Not a web link: not followed">
      {children}
    </span>
  ) : (
    <a href={safe} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  )
}

const render = (node: BBNode, key: number): ComponentChildren => {
  if (typeof node === "string") return node
  const children = node.children.map(render)
  switch (node.tag) {
    case "br":
      return <br key={key} />
    case "b":
      return <strong key={key}>{children}</strong>
    case "i":
      return <em key={key}>{children}</em>
    case "u":
      return <u key={key}>{children}</u>
    case "s":
      return <s key={key}>{children}</s>
    case "quote":
      return <blockquote key={key}>{children}</blockquote>
    case "code":
      return <code key={key}>{children}</code>
    case "url": {
      const target = node.value ?? node.children.filter((child) => typeof child === "string").join("")
      return (
        <Link key={key} href={target}>
          {children}
        </Link>
      )
    }
    case "user":
      return (
        <span key={key} class="mention">
          @{children}
        </span>
      )
    case "color":
      return (
        <span key={key} style={{ color: safeColor(node.value) }}>
          {children}
        </span>
      )
    case "size": {
      const size = Number(node.value)
      return (
        <span key={key} style={Number.isFinite(size) && size >= 8 && size <= 40 ? { fontSize: `${size}px` } : {}}>
          {children}
        </span>
      )
    }
    default:
      return <span key={key}>{children}</span>
  }
}

export const BBText = ({ text }: { readonly text: string }) => <>{parse(text).map(render)}</>

type Wire = Readonly<Record<string, unknown>>

const isRecord = (value: unknown): value is Wire => typeof value === "object" && value !== null && !Array.isArray(value)
const asArray = (value: unknown): ReadonlyArray<unknown> =>
  Array.isArray(value) ? value : value === undefined ? [] : [value]
const text = (value: unknown): string => (typeof value === "string" || typeof value === "number" ? String(value) : "")
/** Keys as the server reads them: upper case. */
const upper = (value: unknown): Wire =>
  isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key.toUpperCase(), inner])) : {}

const Block = ({ block }: { readonly block: Wire }) => {
  const [kind, raw] = Object.entries(block)[0] ?? []
  switch (kind) {
    case "MESSAGE": {
      const value = isRecord(raw) ? text(upper(raw).TEXT) : text(raw)
      return (
        <p class="attach-message">
          <BBText text={value} />
        </p>
      )
    }
    case "LINK":
    case "RICH_LINK":
      return (
        <>
          {asArray(raw).map((item, index) => {
            const link = upper(item)
            return (
              <div class="attach-link" key={index}>
                <Link href={text(link.LINK)}>{text(link.NAME) || text(link.LINK)}</Link>
                {text(link.DESC) === "" ? null : <small>{text(link.DESC)}</small>}
              </div>
            )
          })}
        </>
      )
    case "USER":
      return (
        <>
          {asArray(raw).map((item, index) => (
            <div class="attach-user" key={index}>
              👤 <Link href={text(upper(item).LINK)}>{text(upper(item).NAME)}</Link>
            </div>
          ))}
        </>
      )
    case "GRID":
      return (
        <dl class="attach-grid">
          {asArray(raw).map((item, index) => {
            const cell = upper(item)
            return (
              <div key={index} class={text(cell.DISPLAY) === "LINE" ? "line" : "block"}>
                <dt>{text(cell.NAME)}</dt>
                <dd>
                  <BBText text={text(cell.VALUE)} />
                </dd>
              </div>
            )
          })}
        </dl>
      )
    case "IMAGE":
      // Images are not fetched from the operator's browser: a third party would learn who looks.
      return (
        <>
          {asArray(raw).map((item, index) => (
            <div class="attach-file" key={index}>
              🖼 <Link href={text(upper(item).LINK)}>{text(upper(item).NAME) || "image"}</Link>
            </div>
          ))}
        </>
      )
    case "FILE":
      return (
        <>
          {asArray(raw).map((item, index) => (
            <div class="attach-file" key={index}>
              📎 <Link href={text(upper(item).LINK)}>{text(upper(item).NAME) || "file"}</Link>
            </div>
          ))}
        </>
      )
    case "DELIMITER":
      return <hr class="attach-delimiter" style={{ borderColor: safeColor(text(upper(raw).COLOR)) }} />
    default:
      return <pre class="attach-unknown">{JSON.stringify(block)}</pre>
  }
}

const Attachment = ({ attach }: { readonly attach: unknown }) => {
  const full = isRecord(attach) ? upper(attach) : undefined
  const blocks = full === undefined ? asArray(attach) : asArray(full.BLOCKS)
  const color = full === undefined ? undefined : safeColor(text(full.COLOR))
  return (
    <div class="attach" style={color === undefined ? {} : { borderLeftColor: color }}>
      {blocks.map((block, index) => (
        <Block key={index} block={upper(block)} />
      ))}
    </div>
  )
}

const Keyboard = ({ keyboard }: { readonly keyboard: unknown }) => {
  const items = isRecord(keyboard) ? asArray(upper(keyboard).BUTTONS) : asArray(keyboard)
  const rows: Array<Array<Wire>> = [[]]
  for (const item of items) {
    const button = upper(item)
    if (button.TYPE === "NEWLINE") rows.push([])
    else rows[rows.length - 1]?.push(button)
  }
  return (
    <div class="keyboard">
      {rows
        .filter((row) => row.length > 0)
        .map((row, index) => (
          <div class="keyboard-row" key={index}>
            {row.map((button, inner) => (
              <Link key={inner} href={text(button.LINK)}>
                {text(button.TEXT)}
              </Link>
            ))}
          </div>
        ))}
    </div>
  )
}

/** Renders wire parameters (`MESSAGE`, `ATTACH`, `KEYBOARD`) as the recipient's chat would. */
export const ChatMessage = ({
  wire,
  sender = "Open line",
  at
}: {
  readonly wire: unknown
  readonly sender?: string
  readonly at?: string | undefined
}) => {
  const params = upper(wire)
  const attach = params.ATTACH
  const keyboard = params.KEYBOARD
  return (
    <div class="chat-message">
      <div class="chat-sender">
        {sender}
        {at === undefined ? null : <small> · {at}</small>}
      </div>
      <div class="chat-text">
        <BBText text={text(params.MESSAGE)} />
      </div>
      {attach === undefined || attach === null || attach === "" ? null : <Attachment attach={attach} />}
      {keyboard === undefined || keyboard === null || keyboard === "" ? null : <Keyboard keyboard={keyboard} />}
    </div>
  )
}
