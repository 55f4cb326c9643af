import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { Attachment, BBCode, Keyboard, NetworkMessage } from "../src/index.js"

const code = "a".repeat(32)
const check = (params: unknown, options: NetworkMessage.ValidationOptions = {}) =>
  Effect.map(Effect.either(NetworkMessage.validateWire(params, options)), (result) =>
    Either.isLeft(result) ? result.left.code : "OK"
  )

describe("local validation mirrors the server", () => {
  it.effect("CODE is 32 characters, not bytes, and checked first", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* check({ CODE: "ж".repeat(32), USER_ID: 2, MESSAGE: "hi" }), "OK")
      assert.strictEqual(yield* check({ CODE: "a".repeat(31), USER_ID: 0, MESSAGE: "" }), "CODE")
      assert.strictEqual(yield* check({ USER_ID: 2, MESSAGE: "hi" }), "CODE")
      assert.strictEqual(yield* check({ code, user_id: 2, message: "lower-case keys" }), "OK")
    })
  )

  it.effect("USER_ID is cast like PHP's (int)", () =>
    Effect.gen(function* () {
      for (const empty of [0, "0", "", "abc", null, false, []]) {
        assert.strictEqual(yield* check({ CODE: code, USER_ID: empty, MESSAGE: "hi" }), "USER_ID_EMPTY")
      }
      for (const fine of ["12abc", -5, " 7", "1e3", true]) {
        assert.strictEqual(yield* check({ CODE: code, USER_ID: fine, MESSAGE: "hi" }), "OK")
      }
    })
  )

  it.effect("MESSAGE is blank only after PHP's trim", () =>
    Effect.gen(function* () {
      for (const blank of ["", "  ", "\n\t\r\0\x0B", undefined]) {
        assert.strictEqual(yield* check({ CODE: code, USER_ID: 2, MESSAGE: blank }), "MESSAGE_EMPTY")
      }
      // "0" is a message; PHP's trim does not strip a no-break space.
      for (const fine of ["0", "\u00a0", 0])
        assert.strictEqual(yield* check({ CODE: code, USER_ID: 2, MESSAGE: fine }), "OK")
    })
  )

  it.effect("attachments: invalid blocks dropped, none left is ATTACH_ERROR, size measured after normalisation", () =>
    Effect.gen(function* () {
      const base = { CODE: code, USER_ID: 2, MESSAGE: "hi" }
      assert.strictEqual(yield* check({ ...base, ATTACH: [{ LINK: { LINK: "ftp://x" } }] }), "ATTACH_ERROR")
      assert.strictEqual(yield* check({ ...base, ATTACH: "not json" }), "ATTACH_ERROR")
      assert.strictEqual(yield* check({ ...base, ATTACH: [] }), "OK")
      assert.strictEqual(yield* check({ ...base, ATTACH: [{ MESSAGE: "x" }, { HTML: "<b>" }] }), "OK")
      // Dropped fields do not count: a huge unknown field does not make an attachment oversize.
      assert.strictEqual(yield* check({ ...base, ATTACH: [{ MESSAGE: "x", EXTRA: "y".repeat(70_000) }] }), "OK")
      const measured = yield* NetworkMessage.validateWire(
        { ...base, ATTACH: [{ MESSAGE: "x" }] },
        { nowSeconds: 1_773_740_787 }
      )
      // {"ID":1773740787,"BLOCKS":[{"MESSAGE":"x"}],"DESCRIPTION":"","COLOR":"#000000","COLOR_TOKEN":"base"}
      assert.strictEqual(measured.attachmentSize, 100)
      const limit = measured.attachmentSize! + 1
      assert.strictEqual(
        yield* check({ ...base, ATTACH: [{ MESSAGE: "x" }] }, { attachmentMaxCharacters: limit }),
        "OK"
      )
      assert.strictEqual(
        yield* check({ ...base, ATTACH: [{ MESSAGE: "xy" }] }, { attachmentMaxCharacters: limit }),
        "ATTACH_OVERSIZE"
      )
      // A slash counts two characters, a Cyrillic letter one.
      const slash = yield* NetworkMessage.validateWire(
        { ...base, ATTACH: [{ MESSAGE: "/" }] },
        { nowSeconds: 1_773_740_787 }
      )
      const cyrillic = yield* NetworkMessage.validateWire(
        { ...base, ATTACH: [{ MESSAGE: "ж" }] },
        { nowSeconds: 1_773_740_787 }
      )
      assert.strictEqual(slash.attachmentSize, 101)
      assert.strictEqual(cyrillic.attachmentSize, 100)
    })
  )

  it.effect("keyboards keep link buttons and row breaks only", () =>
    Effect.gen(function* () {
      const base = { CODE: code, USER_ID: 2, MESSAGE: "hi" }
      assert.strictEqual(yield* check({ ...base, KEYBOARD: [{ TEXT: "Go", COMMAND: "go" }] }), "KEYBOARD_ERROR")
      assert.strictEqual(yield* check({ ...base, KEYBOARD: "buttons" }), "KEYBOARD_ERROR")
      assert.strictEqual(yield* check({ ...base, KEYBOARD: [{ TEXT: "0", LINK: "https://x" }] }), "KEYBOARD_ERROR")
      assert.strictEqual(yield* check({ ...base, KEYBOARD: [{ TYPE: "NEWLINE" }] }), "OK")
      assert.strictEqual(yield* check({ ...base, KEYBOARD: { BUTTONS: [{ TEXT: "Go", LINK: "https://x" }] } }), "OK")
    })
  )

  it.effect("the first failing check wins, in the server's order", () =>
    Effect.gen(function* () {
      const everythingWrong = { CODE: code, USER_ID: 2, MESSAGE: " ", ATTACH: 5, KEYBOARD: "x" }
      assert.strictEqual(yield* check(everythingWrong), "MESSAGE_EMPTY")
      assert.strictEqual(yield* check({ ...everythingWrong, MESSAGE: "x" }), "ATTACH_ERROR")
      assert.strictEqual(yield* check({ ...everythingWrong, MESSAGE: "x", ATTACH: "" }), "KEYBOARD_ERROR")
    })
  )

  it.effect("a typed message encodes to wire names and validates", () =>
    Effect.gen(function* () {
      const message = NetworkMessage.make({
        lineCode: code,
        userId: 2,
        message: "Deal won",
        attachment: Attachment.make([Attachment.grid([{ name: "Amount", value: "100 EUR", display: "LINE" }])]),
        keyboard: Keyboard.rows([Keyboard.button("Open", "https://example.com/deal/1")]),
        urlPreview: false
      })
      const wire = yield* NetworkMessage.toWire(message)
      assert.deepStrictEqual(wire.URL_PREVIEW, "N")
      assert.deepStrictEqual((wire.ATTACH as any).BLOCKS[0].GRID[0], {
        DISPLAY: "LINE",
        NAME: "Amount",
        VALUE: "100 EUR"
      })
      assert.deepStrictEqual((wire.KEYBOARD as any).BUTTONS[0], { TEXT: "Open", LINK: "https://example.com/deal/1" })
      yield* NetworkMessage.validate(message)
    })
  )

  it.effect("a typed value the schema refuses is a typed error naming the field, never a throw", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        NetworkMessage.validate({
          lineCode: code,
          userId: 2,
          message: "hi",
          keyboard: [Keyboard.button("Open", "https://x.test", { width: 0, bgColor: "red" })]
        })
      )
      assert.strictEqual(error._tag, "InvalidMessageError")
      assert.include((error as { field: string }).field, "keyboard")
      assert.strictEqual(error.errorClass, "permanent")
    })
  )

  it.effect("a lone UTF-16 surrogate is refused at validation, naming the field: no encoding can carry it", () =>
    Effect.gen(function* () {
      for (const [message, field] of [
        [{ lineCode: code, userId: 2, message: "cut \uD800 here" }, "MESSAGE"],
        [{ lineCode: code, userId: 2, message: "hi", attachment: [Attachment.message("tail \uDC00")] }, "ATTACH"]
      ] as const) {
        const error = yield* Effect.flip(NetworkMessage.validate(message))
        assert.strictEqual(error._tag, "InvalidMessageError")
        assert.include((error as { field: string }).field, field)
      }
      // A pair is one character, and fine.
      const fine = yield* Effect.either(
        NetworkMessage.validate({ lineCode: code, userId: 2, message: "ok \uD83D\uDE00" })
      )
      assert.isTrue(Either.isRight(fine))
    })
  )
})

describe("BBCode", () => {
  it("escapes outside text so that it cannot form markup", () => {
    const field = "[b]free[/b] [url=javascript:x]click[/url] [USER=1]admin[/USER]"
    const text = BBCode.toText(BBCode.concat("Deal: ", BBCode.bold(field)))
    assert.isTrue(text.startsWith("Deal: [b]"))
    assert.isTrue(text.endsWith("[/b]"))
    // Only the builder's own tags remain: every "[" of the field is followed by the invisible joiner.
    const inner = text.slice("Deal: [b]".length, -"[/b]".length)
    assert.notInclude(inner.replaceAll("[\u2060", ""), "[")
  })

  it("builds links, mentions, quotes and line breaks", () => {
    assert.strictEqual(
      BBCode.toText(
        BBCode.bb`Hi ${BBCode.mention(5, "Anna")},${BBCode.lineBreak}see ${BBCode.link("https://x.test/a b", "deal")}`
      ),
      "Hi [USER=5]Anna[/USER],[br]see [url=https://x.test/a%20b]deal[/url]"
    )
    assert.strictEqual(BBCode.toText(BBCode.link("javascript:alert(1)", "x")), "x")
    assert.strictEqual(BBCode.toText(BBCode.quote(">>no")), "[quote]>\u2060>no[/quote]")
    assert.strictEqual(
      BBCode.toText([BBCode.italic("a"), BBCode.underline("b"), BBCode.strike("c"), BBCode.code("d")]),
      "[i]a[/i][u]b[/u][s]c[/s][code]d[/code]"
    )
  })
})
