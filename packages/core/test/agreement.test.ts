/**
 * Property test: core's local validation and the emulator (written apart, from the same server code)
 * agree on random valid and invalid messages: the same error code, or both accept.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { Arbitrary, Effect, Either, FastCheck as fc, Layer, ManagedRuntime, Schema } from "effect"
import { afterAll, beforeAll, expect } from "vitest"
import {
  Attachment,
  Keyboard,
  NetworkMessage,
  OpenChannel,
  PortalAuth,
  RateBudget,
  RetryPolicy,
  TokenStore
} from "../src/index.js"

const attachLimit = 600

let emulator: RunningPortalEmulator
let runtime: ManagedRuntime.ManagedRuntime<OpenChannel.OpenChannel, never>
beforeAll(async () => {
  emulator = await startPortalEmulator()
  emulator.control.configure("demo", {
    nfr: true,
    bucket: { limit: 100_000, drainPerSecond: 1_000 },
    attachMaxCharacters: attachLimit
  })
  const auth = await Effect.runPromise(PortalAuth.webhook(emulator.webhookUrl))
  runtime = ManagedRuntime.make(
    OpenChannel.layer({ auth, retry: RetryPolicy.never }).pipe(
      Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, RateBudget.layerUnlimited, TokenStore.layerMemory()))
    )
  )
})
afterAll(async () => {
  await runtime.dispose()
  await emulator.close()
})

const wireAttachment = Arbitrary.make(Attachment.Attachment).map((value) =>
  Schema.encodeSync(Attachment.Attachment)(value)
)
const wireKeyboard = Arbitrary.make(Keyboard.Keyboard).map((value) => Schema.encodeSync(Keyboard.Keyboard)(value))
const urlish = fc.constantFrom("https://example.com/a", "/local", "ftp://x", "", "http://x.test/ж")

const wireMessage = (lineCode: string) =>
  fc.record(
    {
      CODE: fc.oneof(
        { weight: 6, arbitrary: fc.constant(lineCode) },
        fc.string({ minLength: 30, maxLength: 33 }),
        fc.constant("ж".repeat(32))
      ),
      USER_ID: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(1, 2, 3, 4, 5, 6) },
        fc.constantFrom(0, "0", "", "abc", "3abc", " 4", -0, "6.9")
      ),
      MESSAGE: fc.oneof(
        { weight: 4, arbitrary: fc.string({ minLength: 1 }) },
        fc.constantFrom("", " ", "\n\t", "0", "\u00a0")
      ),
      ATTACH: fc.oneof(
        wireAttachment,
        fc.array(fc.record({ MESSAGE: fc.string({ maxLength: 400 }) }), { maxLength: 4 }),
        fc.array(fc.record({ IMAGE: fc.record({ LINK: urlish, NAME: fc.string() }) }), { maxLength: 3 }),
        fc.constantFrom("", "not json", 5)
      ),
      KEYBOARD: fc.oneof(
        wireKeyboard,
        fc.array(fc.record({ TEXT: fc.constantFrom("Go", " ", "0", "Открыть"), LINK: urlish }), { maxLength: 3 }),
        fc.constantFrom("", "x")
      )
    },
    { requiredKeys: ["CODE", "USER_ID", "MESSAGE"] }
  )

describe("local validation agrees with the emulator", () => {
  it("on random valid and invalid messages", { timeout: 60_000 }, async () => {
    let accepted = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(wireMessage(emulator.lineCode), async (wire) => {
        const local = await Effect.runPromise(
          Effect.either(NetworkMessage.validateWire(wire, { attachmentMaxCharacters: attachLimit }))
        )
        const remote = await runtime.runPromise(
          Effect.either(
            Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
              channel.call("imopenlines.network.message.add", wire as any)
            )
          )
        )
        const localVerdict = Either.isLeft(local) ? local.left.code : "OK"
        // The portal's own state is outside local validation: a well-formed code of a line not joined here is NOT_FOUND,
        // which the server checks right after CODE.
        const localCode = localVerdict !== "CODE" && wire.CODE !== emulator.lineCode ? "NOT_FOUND" : localVerdict
        const remoteCode = Either.isLeft(remote) ? remote.left.code : "OK"
        if (remoteCode === "OK") accepted++
        else refused++
        expect({ wire, localCode }).toEqual({ wire, localCode: remoteCode })
      }),
      { numRuns: 300, seed: 20_261_125 }
    )
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20)
    expect(refused).toBeGreaterThan(20)
  })
})

describe("the attachment size is measured as the emulator measures it", () => {
  it("to the character, at the limit", { timeout: 60_000 }, async () => {
    const text = fc.string({
      unit: fc.constantFrom(
        "a",
        "/",
        "ж",
        '"',
        "\\",
        "#BR#",
        " ",
        "\u2028",
        "😀",
        "\n",
        "\r\n",
        "\\n",
        "<b>",
        "</b>",
        "<br />",
        "&nbsp;",
        '<a href="/x">',
        "</a>"
      ),
      maxLength: 40
    })
    const colorToken = fc.constantFrom("primary", "alert", "PRIMARY", "none")
    const linkItem = fc.record(
      {
        LINK: urlish,
        NAME: text,
        DESC: text,
        HTML: text,
        PREVIEW: urlish,
        PREVIEW_SIZE: fc.record({ HEIGHT: fc.oneof(fc.integer({ min: 0, max: 999 }), text) }, { requiredKeys: [] })
      },
      { requiredKeys: ["LINK"] }
    )
    const block = fc.oneof(
      fc.record({ MESSAGE: text }),
      fc.record({
        MESSAGE: fc.record({ TEXT: text, AS_DESCRIPTION: fc.constantFrom("Y", "N") }, { requiredKeys: ["TEXT"] })
      }),
      fc.record({ LINK: linkItem }),
      fc.record({ RICH_LINK: linkItem }),
      fc.record({
        GRID: fc.array(
          fc.record(
            { NAME: text, VALUE: text, DISPLAY: fc.constantFrom("LINE", "CARD", "X"), COLOR_TOKEN: colorToken },
            { requiredKeys: ["NAME", "VALUE", "DISPLAY"] }
          ),
          { maxLength: 3 }
        )
      })
    )
    const attachment = fc.oneof(
      wireAttachment,
      fc.array(fc.record({ MESSAGE: text }), { minLength: 1, maxLength: 4 }),
      fc.array(block, { minLength: 1, maxLength: 4 }),
      fc.record(
        { DESCRIPTION: text, COLOR_TOKEN: colorToken, BLOCKS: fc.array(block, { minLength: 1, maxLength: 3 }) },
        { requiredKeys: ["BLOCKS"] }
      ),
      fc.array(
        fc.record({
          GRID: fc.array(fc.record({ NAME: text, VALUE: text, DISPLAY: fc.constantFrom("LINE", "CARD", "X") }), {
            maxLength: 3
          })
        }),
        { minLength: 1, maxLength: 2 }
      ),
      fc.array(
        fc.record({ FILE: fc.record({ LINK: urlish, NAME: text, SIZE: fc.integer({ min: -5, max: 99_999 }) }) }),
        { minLength: 1, maxLength: 2 }
      ),
      fc.array(
        fc.record({ USER: fc.record({ NAME: text, USER_ID: fc.integer({ min: -1, max: 50 }), AVATAR: urlish }) }),
        { minLength: 1, maxLength: 2 }
      )
    )
    let measured = 0
    await fc.assert(
      fc.asyncProperty(attachment, async (attach) => {
        const wire = { CODE: emulator.lineCode, USER_ID: 2, MESSAGE: "size", ATTACH: attach }
        const local = await Effect.runPromise(
          Effect.either(NetworkMessage.validateWire(wire, { attachmentMaxCharacters: 1_000_000 }))
        )
        if (Either.isLeft(local) || local.right.attachmentSize === undefined) return
        const size = local.right.attachmentSize
        measured++
        const send = () =>
          runtime.runPromise(
            Effect.either(
              Effect.flatMap(OpenChannel.OpenChannel, (channel) =>
                channel.call("imopenlines.network.message.add", wire as any)
              )
            )
          )
        emulator.control.configure("demo", { attachMaxCharacters: size + 1 })
        const fits = await send()
        emulator.control.configure("demo", { attachMaxCharacters: size })
        const over = await send()
        expect({ attach, size, fits: Either.isRight(fits) ? "OK" : fits.left.code }).toEqual({
          attach,
          size,
          fits: "OK"
        })
        expect({ attach, size, over: Either.isRight(over) ? "OK" : over.left.code }).toEqual({
          attach,
          size,
          over: "ATTACH_OVERSIZE"
        })
      }),
      { numRuns: 250, seed: 7 }
    )
    emulator.control.configure("demo", { attachMaxCharacters: attachLimit })
    expect(measured).toBeGreaterThan(120)
  })
})
