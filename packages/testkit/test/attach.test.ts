import { describe, expect, it } from "@effect/vitest"
import { attachSize, normalizeAttach } from "../src/internal/attach.js"
import type { PhpValue } from "../src/internal/php.js"
import { PhpTypeError } from "../src/internal/php.js"

const now = Date.UTC(2026, 10, 25)
const normalize = (value: unknown) => normalizeAttach(value as PhpValue, now, () => 0)

describe("attachment normalisation (CIMMessageParamAttach::GetAttachByJson)", () => {
  it("keeps the full form's valid colour and drops its ID; the short form gets a random colour", () => {
    expect(normalize({ ID: 5, COLOR: "#abc", BLOCKS: [{ MESSAGE: "x" }] })).toEqual({
      ID: Math.floor(now / 1000),
      BLOCKS: [{ MESSAGE: "x" }],
      DESCRIPTION: "",
      COLOR: "#abc",
      COLOR_TOKEN: "base"
    })
    expect(normalize([{ MESSAGE: "x" }])?.COLOR).toMatch(/^#[0-9a-f]{6}$/)
    expect(normalize({ COLOR: "red", BLOCKS: [{ MESSAGE: "x" }] })?.COLOR).toMatch(/^#[0-9a-f]{6}$/)
    expect(normalize({ COLOR: "TRANSPARENT", BLOCKS: [{ MESSAGE: "x" }] })?.COLOR).toBe("transparent")
  })

  it("decodes a JSON string, and refuses what is neither an array nor JSON of one", () => {
    expect(normalize(JSON.stringify([{ MESSAGE: "x" }]))?.BLOCKS).toEqual([{ MESSAGE: "x" }])
    expect(normalize("nope")).toBeUndefined()
    expect(normalize(42)).toBeUndefined()
  })

  it("takes the first known key of a block, in the server's order", () => {
    expect(normalize([{ MESSAGE: "m", USER: { NAME: "Ann", USER_ID: 3 } }])?.BLOCKS).toEqual([
      { USER: [{ NAME: "Ann", AVATAR_TYPE: "USER", USER_ID: 3 }] }
    ])
  })

  it("normalises every block type and drops invalid items silently", () => {
    const attach = normalize([
      { MESSAGE: { TEXT: " first#BR#line ", AS_DESCRIPTION: "Y" } },
      { USER: [{ NAME: "Bot", BOT_ID: 7, AVATAR: "javascript:x" }, { NAME: "  " }] },
      { LINK: { NAME: "Deal", LINK: "https://b24.test/deal/1", PREVIEW: "/p.png", WIDTH: "100", HEIGHT: 0 } },
      { RICH_LINK: { NAME: "R", LINK: "ftp://nope" } },
      {
        GRID: [
          { NAME: "Stage", VALUE: "Won", DISPLAY: "COLUMN", COLOR: "#zzz", COLOR_TOKEN: "alert" },
          { NAME: "", VALUE: "" },
          { DISPLAY: "LINE" }
        ]
      },
      { IMAGE: { LINK: "https://img.test/a.png", NAME: "a" } },
      { FILE: [{ LINK: "/file.pdf", SIZE: "2048" }, { LINK: "nope" }] },
      { DELIMITER: { SIZE: -1, COLOR: "#c6c6c6" } },
      { HTML: "<b>ignored</b>" }
    ])
    expect(attach?.DESCRIPTION).toBe("first[BR]line")
    expect(attach?.BLOCKS).toEqual([
      { MESSAGE: "first[BR]line" },
      { USER: [{ NAME: "Bot", AVATAR_TYPE: "BOT", BOT_ID: 7 }] },
      { LINK: [{ NAME: "Deal", LINK: "https://b24.test/deal/1", PREVIEW: "/p.png", WIDTH: 100 }] },
      {
        GRID: [
          { DISPLAY: "ROW", NAME: "Stage", VALUE: "Won", COLOR_TOKEN: "alert" },
          { DISPLAY: "LINE", NAME: "", VALUE: "", COLOR_TOKEN: "base" }
        ]
      },
      { IMAGE: [{ NAME: "a", LINK: "https://img.test/a.png" }] },
      { FILE: [{ LINK: "/file.pdf", SIZE: 2048 }] },
      { DELIMITER: { SIZE: 200, COLOR: "#c6c6c6" } }
    ])
  })

  // The five points core and the emulator once read differently, settled from the newest stored `im` build
  // (yuliai/bitrix-modules b2acc890, im/classes/general/im_message_param.php): see the README.
  describe("settled from the newest im build", () => {
    it("MESSAGE {TEXT, AS_DESCRIPTION: 'Y'} also becomes the DESCRIPTION (the last one wins)", () => {
      const attach = normalize({
        DESCRIPTION: "own",
        BLOCKS: [
          { MESSAGE: { TEXT: " one#BR#two ", AS_DESCRIPTION: "Y" } },
          { MESSAGE: { TEXT: "three", AS_DESCRIPTION: "N" } }
        ]
      })
      expect(attach?.DESCRIPTION).toBe("one[BR]two")
      expect(normalize([{ MESSAGE: { TEXT: "x", AS_DESCRIPTION: true } }])?.DESCRIPTION).toBe("")
      expect(() => normalize([{ MESSAGE: { AS_DESCRIPTION: "Y" } }])).toThrow(PhpTypeError)
    })

    it("keeps the full form's own DESCRIPTION through SetDescription: line breaks to spaces, HTML to BB-code, trimmed", () => {
      const description = (value: unknown) => normalize({ DESCRIPTION: value, BLOCKS: [{ MESSAGE: "m" }] })?.DESCRIPTION
      expect(description(" Deal\r\nwon ")).toBe("Deal won")
      expect(description("<b>Big</b>&nbsp;<I>deal</i><br/>#BR#<hr>")).toBe("[b]Big[/b] [I]deal[/I][br][BR]------[BR]")
      expect(description('<a href="https://x.test/a">open</a> <div class="c"><span>in</span></div>')).toBe(
        "[url=https://x.test/a]open[/url] in"
      )
      expect(description('<font color="#ff0000">red</font><font size="3">big</font>')).toBe(
        "[color=#ff0000]red[/color][size=3]big[/size]"
      )
      expect(description(42)).toBe("42")
      expect(normalize([{ MESSAGE: "m" }])?.DESCRIPTION).toBe("")
      expect(() => description(["x"])).toThrow(PhpTypeError)
    })

    it("turns only #BR# into [BR] in a MESSAGE or a grid VALUE; real line breaks stay", () => {
      const attach = normalize([{ MESSAGE: "a\nb\r\nc#BR#d<br />e" }, { GRID: [{ NAME: "n", VALUE: " 1\n2#BR#3 " }] }])
      expect(attach?.BLOCKS[0]).toEqual({ MESSAGE: "a\nb\r\nc[BR]d<br />e" })
      expect(attach?.BLOCKS[1]).toEqual({
        GRID: [{ DISPLAY: "BLOCK", NAME: "n", VALUE: "1\n2[BR]3", COLOR_TOKEN: "base" }]
      })
    })

    it("keeps a LINK's DESC and HTML raw; a RICH_LINK trims them and turns line breaks into spaces", () => {
      const [link, rich] = normalize([
        { LINK: { LINK: "/a", DESC: " two\nlines ", HTML: " <script>x</script>\n" } },
        { RICH_LINK: { LINK: "/b", DESC: " two\nlines ", HTML: " <i>x</i>\n", PREVIEW: "/p.png" } }
      ])!.BLOCKS
      expect(link).toEqual({ LINK: [{ LINK: "/a", DESC: " two\nlines ", HTML: " <script>x</script>\n" }] })
      expect(rich).toEqual({
        RICH_LINK: [
          { LINK: "/b", DESC: "two lines", HTML: "<i>x</i>", PREVIEW: "/p.png", PREVIEW_SIZE: { HEIGHT: 0, WIDTH: 0 } }
        ]
      })
    })

    it('adds COLOR_TOKEN (validated, else base), PREVIEW_SIZE as sent, and unescapes \\n \\t \\" \\\\ in values', () => {
      const attach = normalize({
        COLOR_TOKEN: "primary",
        BLOCKS: [
          { MESSAGE: 'a\\nb\\tc\\"d\\\\e' },
          { RICH_LINK: { LINK: "/r", PREVIEW: "/p", PREVIEW_SIZE: { HEIGHT: "12", WIDTH: 3 } } },
          { GRID: [{ NAME: "n", COLOR_TOKEN: "PRIMARY" }] }
        ]
      })
      expect(attach?.COLOR_TOKEN).toBe("primary")
      expect(attach?.BLOCKS).toEqual([
        { MESSAGE: 'a\nb\tc"d\\e' },
        { RICH_LINK: [{ LINK: "/r", PREVIEW: "/p", PREVIEW_SIZE: { HEIGHT: "12", WIDTH: 3 } }] },
        { GRID: [{ DISPLAY: "BLOCK", NAME: "n", VALUE: "", COLOR_TOKEN: "base" }] }
      ])
      expect(normalize([{ MESSAGE: "x" }])?.COLOR_TOKEN).toBe("base")
      expect(() => normalize({ COLOR_TOKEN: ["x"], BLOCKS: [{ MESSAGE: "x" }] })).toThrow(PhpTypeError)
    })
  })

  it("is undefined when no block survives", () => {
    expect(normalize([{ MESSAGE: " " }, { IMAGE: [{ LINK: "x" }] }, { GRID: [] }])).toBeUndefined()
  })
})

describe("attachment size, as the server measures it", () => {
  // {"ID":1795564800,"BLOCKS":[{"MESSAGE":"…"}],"DESCRIPTION":"","COLOR":"#df532d","COLOR_TOKEN":"base"}
  const overhead = attachSize(normalize([{ MESSAGE: "x" }])!) - 1

  it("counts the normalised JSON with escaped slashes", () => {
    expect(attachSize(normalize([{ MESSAGE: "a/b" }])!)).toBe(overhead + 4)
  })

  it("counts non-ASCII letters once each (JSON_UNESCAPED_UNICODE, mb_strlen)", () => {
    expect(attachSize(normalize([{ MESSAGE: "привет" }])!)).toBe(overhead + 6)
    expect(attachSize(normalize([{ MESSAGE: "😀" }])!)).toBe(overhead + 1)
  })

  it("treats text that is not valid UTF-8 as too large, as a failed json_encode", () => {
    expect(attachSize(normalize([{ MESSAGE: "\uD800" }])!)).toBe(Number.POSITIVE_INFINITY)
  })

  it("lands exactly on the limit: 59,999 characters pass, 60,000 do not", () => {
    const fill = (total: number) => normalize([{ MESSAGE: "x".repeat(total - overhead) }])!
    expect(attachSize(fill(59_999))).toBe(59_999)
    expect(attachSize(fill(60_000))).toBe(60_000)
  })
})
