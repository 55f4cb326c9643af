import { describe, expect, it } from "@effect/vitest"
import { normalizeKeyboard } from "../src/internal/keyboard.js"
import type { PhpValue } from "../src/internal/php.js"

const normalize = (value: unknown, botId?: unknown) => normalizeKeyboard(value as PhpValue, botId as PhpValue)

describe("keyboard normalisation (Keyboard::getKeyboardByJson with bot id 0)", () => {
  it("keeps link buttons with their kept fields, and row breaks", () => {
    const keyboard = normalize({
      BUTTONS: [
        {
          TEXT: " Open deal ",
          LINK: "https://b24.test/deal/1",
          BG_COLOR: "#29619b",
          TEXT_COLOR: "white",
          DISPLAY: "LINE"
        },
        { TYPE: "NEWLINE" },
        { TEXT: "Docs", LINK: "/docs", BLOCK: "Y", WIDTH: "120", BG_COLOR_TOKEN: "primary" }
      ]
    })
    expect(keyboard).toEqual([
      {
        BOT_ID: 0,
        TYPE: "BUTTON",
        LINK: "https://b24.test/deal/1",
        TEXT: "Open deal",
        VOTE: "N",
        BLOCK: "N",
        WAIT: "N",
        CONTEXT: "ALL",
        DISABLED: "N",
        DISPLAY: "LINE",
        BG_COLOR: "#29619b"
      },
      { TYPE: "NEWLINE" },
      {
        BOT_ID: 0,
        TYPE: "BUTTON",
        LINK: "/docs",
        TEXT: "Docs",
        VOTE: "N",
        BLOCK: "Y",
        WAIT: "N",
        CONTEXT: "ALL",
        DISABLED: "N",
        DISPLAY: "BLOCK",
        WIDTH: 120,
        BG_COLOR_TOKEN: "primary"
      }
    ])
  })

  it("takes a keyboard without BUTTONS as the list of buttons", () => {
    expect(normalize([{ TEXT: "a", LINK: "https://a.test" }])).toHaveLength(1)
  })

  it("drops COMMAND buttons (bot id 0) and FUNCTION buttons; keeps APP_ID and ACTION buttons as the server does", () => {
    const keyboard = normalize([
      { TEXT: "cmd", COMMAND: "/go" },
      { TEXT: "fn", FUNCTION: "alert(1)" },
      { TEXT: "app", APP_ID: "12" },
      { TEXT: "copy", ACTION: "COPY", ACTION_VALUE: "text" },
      { TEXT: "bad action", ACTION: "DELETE", ACTION_VALUE: "x" }
    ])
    expect(keyboard?.map((button) => button.TEXT)).toEqual(["app", "copy"])
    expect(normalize([{ TEXT: "cmd", COMMAND: "/go" }], 5)?.[0]).toMatchObject({ COMMAND: "go", BOT_ID: 5 })
  })

  it("refuses a keyboard with no button left, or one given as a string", () => {
    expect(normalize([{ TEXT: "x" }, { LINK: "https://a.test" }, { TEXT: " ", LINK: "/a" }])).toBeUndefined()
    expect(normalize('[{"TEXT":"a","LINK":"/a"}]')).toBeUndefined()
    expect(normalize({ BUTTONS: "x" })).toBeUndefined()
  })

  it("keeps a keyboard of row breaks only, as the server does", () => {
    expect(normalize([{ TYPE: "NEWLINE" }])).toEqual([{ TYPE: "NEWLINE" }])
  })

  it("escapes HTML in links", () => {
    expect(normalize([{ TEXT: "a", LINK: 'https://a.test/?q="<x>"&y' }])?.[0]?.LINK).toBe(
      "https://a.test/?q=&quot;&lt;x&gt;&quot;&amp;y"
    )
  })
})
