import { describe, expect, it } from "@effect/vitest"
import { parse, safeColor, safeHref } from "../web/src/bbcode.js"

describe("the preview's BB-code parser", () => {
  it("nests tags and turns #BR#, [br] and newlines into breaks", () => {
    expect(parse("a [b]bold [i]both[/i][/b]#BR#b[br]c\nd")).toEqual([
      "a ",
      {
        tag: "b",
        value: undefined,
        children: ["bold ", { tag: "i", value: undefined, children: ["both"] }]
      },
      { tag: "br", value: undefined, children: [] },
      "b",
      { tag: "br", value: undefined, children: [] },
      "c",
      { tag: "br", value: undefined, children: [] },
      "d"
    ])
  })

  it("keeps markup it does not know, and unmatched tags, as the text they were", () => {
    expect(parse("<script>alert(1)</script> [x]y[/x] [b]open")).toEqual(["<script>alert(1)</script> [x]y[/x] [b]open"])
    expect(parse("stray [/b] close")).toEqual(["stray [/b] close"])
  })

  it("reads values, and follows only web links", () => {
    expect(parse("[url=https://example.com/a]here[/url]")).toEqual([
      { tag: "url", value: "https://example.com/a", children: ["here"] }
    ])
    expect(safeHref("https://example.com/a")).toBe("https://example.com/a")
    expect(safeHref("javascript:alert(1)")).toBeUndefined()
    expect(safeHref("data:text/html,hi")).toBeUndefined()
    expect(safeColor("#ff0000")).toBe("#ff0000")
    expect(safeColor("red;background:url(x)")).toBeUndefined()
  })
})
