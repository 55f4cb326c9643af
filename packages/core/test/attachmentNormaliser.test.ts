/**
 * The points core and the emulator once read differently, settled from the newest stored `im` build
 * (GitHub yuliai/bitrix-modules, commit b2acc890, `im/classes/general/im_message_param.php`): see the README.
 */
import { describe, expect, it } from "vitest"
import { attachmentSize, normaliseAttachment } from "../src/internal/attachmentNormaliser.js"
import type { PhpValue } from "../src/internal/php.js"
import { PhpTypeError } from "../src/internal/php.js"

const now = 1_773_740_787
const normalise = (value: unknown) => normaliseAttachment(value as PhpValue, now)
const blocksOf = (value: unknown) => normalise(value)?.BLOCKS as ReadonlyArray<Record<string, any>>

describe("attachment normalisation, settled from the newest im build", () => {
  it("MESSAGE {TEXT, AS_DESCRIPTION: 'Y'} copies the kept text into DESCRIPTION, the last such block winning", () => {
    const attach = normalise({
      DESCRIPTION: "own",
      BLOCKS: [
        { MESSAGE: { TEXT: "  first#BR#second ", AS_DESCRIPTION: "Y" } },
        { MESSAGE: { TEXT: "third", AS_DESCRIPTION: "N" } }
      ]
    })
    expect(attach?.DESCRIPTION).toBe("first[BR]second")
    expect(attach?.BLOCKS).toEqual([{ MESSAGE: "first[BR]second" }, { MESSAGE: "third" }])
    // Only the string "Y" counts; a MESSAGE array without TEXT reaches PHP's trim and throws.
    expect(normalise([{ MESSAGE: { TEXT: "x", AS_DESCRIPTION: true } }])?.DESCRIPTION).toBe("")
    expect(() => normalise([{ MESSAGE: { AS_DESCRIPTION: "Y" } }])).toThrow(PhpTypeError)
  })

  it("keeps the full form's DESCRIPTION through SetDescription (line breaks to spaces, HTML to BB-code, trim)", () => {
    const description = (value: unknown) => normalise({ DESCRIPTION: value, BLOCKS: [{ MESSAGE: "m" }] })?.DESCRIPTION
    expect(description("  Deal\nwon\r\n ")).toBe("Deal won")
    expect(description("<b>Big</b>&nbsp;<I>deal</i><br />#BR#<hr>")).toBe("[b]Big[/b] [I]deal[/I][br][BR]------[BR]")
    expect(description("<a href='/deal/1'>open</a> <a href=/x>x</a>")).toBe("[url=/deal/1]open[/url] [url=/x]x[/url]")
    // `color=` is converted; a CSS `color:` is not, and the span is then stripped like a div or a font.
    expect(
      description(
        '<span color="#0a0">ok</span><span style="color: #0a0">css</span><div><font face="x">plain</font></div>'
      )
    ).toBe("[color=#0a0]ok[/color]cssplain")
    expect(description(7)).toBe("7")
    expect(normalise([{ MESSAGE: "m" }])?.DESCRIPTION).toBe("")
    expect(() => description({ a: 1 })).toThrow(PhpTypeError)
  })

  it("turns only #BR# into [BR] in a MESSAGE block or a grid VALUE; line breaks stay as they are", () => {
    const blocks = blocksOf([{ MESSAGE: " a\nb\r\nc#BR#d<br>e " }, { GRID: [{ NAME: "n", VALUE: "1\r2#BR#3\n" }] }])
    expect(blocks[0]).toEqual({ MESSAGE: "a\nb\r\nc[BR]d<br>e" })
    expect(blocks[1]!.GRID[0].VALUE).toBe("1\r2[BR]3")
  })

  it("keeps a LINK item's DESC raw (no trim, line breaks kept); a RICH_LINK's DESC is trimmed, breaks to spaces", () => {
    const blocks = blocksOf([
      { LINK: { LINK: "/a", DESC: "  two\nlines  " } },
      { RICH_LINK: { LINK: "/b", DESC: "  two\nlines  " } }
    ])
    expect(blocks[0]!.LINK[0].DESC).toBe("  two\nlines  ")
    expect(blocks[1]!.RICH_LINK[0].DESC).toBe("two lines")
  })

  it("keeps HTML in a LINK raw (no sanitiser); a RICH_LINK trims it, and it no longer hides PREVIEW", () => {
    const blocks = blocksOf([
      { LINK: { LINK: "/a", HTML: " <script>alert(1)</script>\n", PREVIEW: "/p.png" } },
      { RICH_LINK: { LINK: "/b", HTML: " <i>x</i>\n", PREVIEW: "/p.png", PREVIEW_SIZE: { WIDTH: "9" } } }
    ])
    expect(blocks[0]).toEqual({ LINK: [{ LINK: "/a", HTML: " <script>alert(1)</script>\n" }] })
    expect(blocks[1]).toEqual({
      RICH_LINK: [{ LINK: "/b", HTML: "<i>x</i>", PREVIEW: "/p.png", PREVIEW_SIZE: { HEIGHT: 0, WIDTH: "9" } }]
    })
  })

  it('adds COLOR_TOKEN to the attachment and each grid item, and unescapes \\n \\t \\" \\\\ written in values', () => {
    const attach = normalise({
      COLOR_TOKEN: "alert",
      BLOCKS: [{ MESSAGE: 'a\\nb\\tc\\"d\\\\e' }, { GRID: [{ NAME: "n", COLOR_TOKEN: "secondary" }, { NAME: "m" }] }]
    })
    expect(attach?.COLOR_TOKEN).toBe("alert")
    expect(attach?.BLOCKS).toEqual([
      { MESSAGE: 'a\nb\tc"d\\e' },
      {
        GRID: [
          { DISPLAY: "BLOCK", NAME: "n", VALUE: "", COLOR_TOKEN: "secondary" },
          { DISPLAY: "BLOCK", NAME: "m", VALUE: "", COLOR_TOKEN: "base" }
        ]
      }
    ])
    expect(normalise({ COLOR_TOKEN: "ALERT", BLOCKS: [{ MESSAGE: "x" }] })?.COLOR_TOKEN).toBe("base")
    expect(() => normalise({ COLOR_TOKEN: [1], BLOCKS: [{ MESSAGE: "x" }] })).toThrow(PhpTypeError)
    // {"ID":1773740787,"BLOCKS":[{"MESSAGE":"x"}],"DESCRIPTION":"","COLOR":"#000000","COLOR_TOKEN":"base"}
    expect(attachmentSize(normalise([{ MESSAGE: "x" }])!)).toBe(100)
  })
})
