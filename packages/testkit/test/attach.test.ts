import { describe, expect, it } from "@effect/vitest"
import { attachSize, normalizeAttach } from "../src/internal/attach.js"
import type { PhpValue } from "../src/internal/php.js"

const now = Date.UTC(2026, 10, 25)
const normalize = (value: unknown) => normalizeAttach(value as PhpValue, now, () => 0)

describe("attachment normalisation (CIMMessageParamAttach::GetAttachByJson)", () => {
  it("keeps the full form's valid colour and drops its ID; the short form gets a random colour", () => {
    expect(normalize({ ID: 5, COLOR: "#abc", BLOCKS: [{ MESSAGE: "x" }] })).toEqual({
      ID: Math.floor(now / 1000),
      BLOCKS: [{ MESSAGE: "x" }],
      DESCRIPTION: "",
      COLOR: "#abc"
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
          { NAME: "Stage", VALUE: "Won", DISPLAY: "COLUMN", COLOR: "#zzz" },
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
          { DISPLAY: "ROW", NAME: "Stage", VALUE: "Won" },
          { DISPLAY: "LINE", NAME: "", VALUE: "" }
        ]
      },
      { IMAGE: [{ NAME: "a", LINK: "https://img.test/a.png" }] },
      { FILE: [{ LINK: "/file.pdf", SIZE: 2048 }] },
      { DELIMITER: { SIZE: 200, COLOR: "#c6c6c6" } }
    ])
  })

  it("is undefined when no block survives", () => {
    expect(normalize([{ MESSAGE: " " }, { IMAGE: [{ LINK: "x" }] }, { GRID: [] }])).toBeUndefined()
  })
})

describe("attachment size, as the server measures it", () => {
  // {"ID":1795564800,"BLOCKS":[{"MESSAGE":"…"}],"DESCRIPTION":"","COLOR":"#df532d"}
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
