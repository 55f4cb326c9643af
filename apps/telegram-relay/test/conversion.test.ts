import { BBCode } from "@linecast/core"
import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import * as MediaLinks from "../src/MediaLinks.js"
import * as RelayConfig from "../src/RelayConfig.js"
import { toBBCode } from "../src/TelegramEntities.js"

describe("Telegram entities to BB codes", () => {
  it("nests, counts offsets in UTF-16 code units, and escapes everything the user typed", () => {
    const text = "😀 big [i]deal[/i] >>quote"
    const entities = [
      { type: "bold" as const, offset: 3, length: 3 },
      { type: "italic" as const, offset: 7, length: 17 }
    ]
    expect(toBBCode(text, entities)).toBe(
      `😀 [b]big[/b] [i]${BBCode.escapeText("[i]deal[/i] >>quo")}[/i]${BBCode.escapeText("te")}`
    )
  })

  it("keeps code as written, refuses unsafe links, and clips an entity that crosses its parent", () => {
    expect(
      toBBCode("run rm -rf", [
        { type: "code", offset: 4, length: 6 },
        { type: "bold", offset: 4, length: 2 }
      ])
    ).toBe("run [code]rm -rf[/code]")
    expect(toBBCode("click", [{ type: "text_link", offset: 0, length: 5, url: "javascript:alert(1)" }])).toBe("click")
    expect(toBBCode("see example.com", [{ type: "url", offset: 4, length: 11 }])).toBe(
      "see [url=https://example.com]example.com[/url]"
    )
    expect(
      toBBCode("abcdef", [
        { type: "bold", offset: 0, length: 4 },
        { type: "italic", offset: 2, length: 4 }
      ])
    ).toBe("[b]ab[i]cd[/i][/b]ef")
  })

  it("converts only the part after a command's arguments", () => {
    const text = "/send boris *hi*"
    expect(toBBCode(text, [{ type: "bold", offset: 12, length: 4 }], {}, 12)).toBe("[b]*hi*[/b]")
  })
})

describe("media links", () => {
  const secret = Redacted.make("a-secret")
  it("are signed and expire", () => {
    const link = MediaLinks.make("http://relay.example", secret, {
      fileId: "AgACfile",
      expiresAt: 2_000,
      name: "a b.jpg"
    })
    const path = new URL(link).pathname
    expect(MediaLinks.verify(secret, path, 1_000)).toMatchObject({ _tag: "Valid", target: { fileId: "AgACfile" } })
    expect(MediaLinks.verify(secret, path, 2_000)._tag).toBe("Expired")
    expect(MediaLinks.verify(Redacted.make("other"), path, 1_000)._tag).toBe("Invalid")
    expect(MediaLinks.verify(secret, "/media/../etc", 1_000)._tag).toBe("Invalid")
  })
})

describe("RelayConfig", () => {
  const read = (env: Record<string, string>) =>
    Effect.runSync(
      Effect.either(Effect.withConfigProvider(RelayConfig.config, ConfigProvider.fromMap(new Map(Object.entries(env)))))
    )
  const base = {
    LINECAST_TELEGRAM_BOT_TOKEN: "123456:SECRET-TOKEN-VALUE",
    LINECAST_TELEGRAM_MEDIA_SECRET: "media-secret",
    LINECAST_TELEGRAM_OPERATORS: "100,101",
    LINECAST_TELEGRAM_ROUTING: JSON.stringify({
      lineCode: "x".repeat(32),
      recipients: { boris: 2 },
      groups: { sales: [2, 3] }
    })
  }

  it("reads LINECAST_TELEGRAM_*, holding secrets as Redacted", () => {
    const options = read(base)
    expect(Either.isRight(options)).toBe(true)
    const value = Either.getOrThrow(options)
    expect(value).toMatchObject({
      mode: "polling",
      operators: [100, 101],
      policy: "defer",
      routing: { recipients: { boris: 2 } }
    })
    expect(Redacted.value(value.token)).toBe("123456:SECRET-TOKEN-VALUE")
    expect(JSON.stringify(value)).not.toContain("SECRET-TOKEN-VALUE")
    expect(String(value.token)).not.toContain("SECRET-TOKEN-VALUE")
  })

  it("refuses a webhook mode without a secret and routing that is not valid", () => {
    expect(Either.isLeft(read({ ...base, LINECAST_TELEGRAM_MODE: "webhook" }))).toBe(true)
    expect(Either.isLeft(read({ ...base, LINECAST_TELEGRAM_ROUTING: '{"recipients":{}}' }))).toBe(true)
    const webhook = read({ ...base, LINECAST_TELEGRAM_MODE: "webhook", LINECAST_TELEGRAM_WEBHOOK_SECRET: "abc_DEF-1" })
    expect(Either.getOrThrow(webhook).webhook?.url).toBeUndefined()
  })
})
