import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ConsoleAssets from "../src/ConsoleAssets.js"

describe("the page's assets", () => {
  it("are built once per version of the sources, and nothing outside the build is served", async () => {
    // A copy of the sources that can still resolve the console's dependencies.
    const scratch = fileURLToPath(new URL("../node_modules/.cache/", import.meta.url))
    mkdirSync(scratch, { recursive: true })
    const sourceDir = join(mkdtempSync(join(scratch, "test-web-")), "web")
    cpSync(fileURLToPath(new URL("../web", import.meta.url)), sourceDir, {
      recursive: true,
      filter: (source) => !source.endsWith("tsconfig.json")
    })
    const cacheDir = mkdtempSync(join(tmpdir(), "linecast-console-cache-"))
    const load = () => Effect.runPromise(ConsoleAssets.load({ sourceDir, cacheDir }))

    const first = await load()
    const index = first.read("")
    expect(index?.contentType).toBe("text/html; charset=utf-8")
    const script = /src="\/console\/(assets\/[^"]+\.js)"/.exec(new TextDecoder().decode(index!.body))?.[1]
    expect(first.read(script!)).toMatchObject({ contentType: "text/javascript; charset=utf-8", immutable: true })
    expect(first.read("../../package.json")).toBeUndefined()
    expect(first.read(`../${first.dir.split("/").at(-1)}/index.html`)).toBeDefined()
    expect(first.read("assets/none.js")).toBeUndefined()

    const builtAt = statSync(join(first.dir, "index.html")).mtimeMs
    const again = await load()
    expect(again.dir).toBe(first.dir)
    expect(statSync(join(again.dir, "index.html")).mtimeMs).toBe(builtAt)

    appendFileSync(join(sourceDir, "src", "styles.css"), "\n.changed { color: red; }\n")
    const rebuilt = await load()
    expect(rebuilt.dir).not.toBe(first.dir)
    expect(rebuilt.read("index.html")).toBeDefined()
    rmSync(join(sourceDir, ".."), { recursive: true, force: true })
    rmSync(cacheDir, { recursive: true, force: true })
  })

  it("fail with a clear error when the sources cannot be built", async () => {
    const error = await Effect.runPromise(
      Effect.flip(ConsoleAssets.load({ sourceDir: join(tmpdir(), "linecast-no-such-web"), cacheDir: tmpdir() }))
    )
    expect(error.message).toMatch(/^The console's page could not be built: /)
  })
})
