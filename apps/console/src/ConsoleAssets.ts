/**
 * The page's built files. The sources under `apps/console/web` are built with Vite's `build()` into
 * a cache folder named for a hash of those sources (and Vite's version), the first time a console
 * starts after they changed; later starts only hash a dozen small files. A fresh clone therefore
 * needs nothing but `pnpm install`, no build output is committed, and two processes starting at
 * once each build into a folder of their own and the first rename wins.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs"
import { join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface AssetOptions {
  /** The web sources (default: `apps/console/web`). */
  readonly sourceDir?: string | undefined
  /** Where builds are kept (default: `apps/console/node_modules/.cache/console-web`). */
  readonly cacheDir?: string | undefined
}

/**
 * A built file, ready to answer with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
  /** Hashed file names never change content: they may be cached for good. */
  readonly immutable: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Assets {
  /** The folder the build is in. */
  readonly dir: string
  /** A file by its path below `/console/` (`index.html`, `assets/index-abc.js`); undefined when absent. */
  readonly read: (path: string) => Asset | undefined
}

const packageDir = fileURLToPath(new URL("..", import.meta.url))

const contentTypes: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  woff2: "font/woff2"
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]
  )

/** The build's name: the sources' contents and the Vite that builds them. */
const sourceHash = async (sourceDir: string): Promise<string> => {
  const hash = createHash("sha256")
  const { version } = await import("vite")
  hash.update(`vite ${version}\n`)
  for (const file of filesUnder(sourceDir).sort()) {
    hash.update(`${relative(sourceDir, file)}\n`)
    hash.update(readFileSync(file))
  }
  return hash.digest("hex").slice(0, 16)
}

const build = async (sourceDir: string, outDir: string): Promise<void> => {
  const vite = await import("vite")
  await vite.build({
    root: sourceDir,
    base: "/console/",
    configFile: false,
    envFile: false,
    logLevel: "warn",
    clearScreen: false,
    esbuild: { jsx: "automatic", jsxImportSource: "preact" },
    build: { outDir, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 1024 }
  })
}

const loader = (dir: string): Assets => ({
  dir,
  read: (path) => {
    const file = resolve(dir, path === "" ? "index.html" : path)
    // Nothing outside the build is ever served.
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) return undefined
    const extension = file.slice(file.lastIndexOf(".") + 1)
    return {
      body: readFileSync(file),
      contentType: contentTypes[extension] ?? "application/octet-stream",
      immutable: file.startsWith(join(dir, "assets") + sep)
    }
  }
})

/**
 * The built page, building it first when the sources changed since the last build.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (options: AssetOptions = {}): Effect.Effect<Assets, Error> =>
  Effect.tryPromise({
    try: async () => {
      const sourceDir = resolve(options.sourceDir ?? join(packageDir, "web"))
      const cacheDir = resolve(options.cacheDir ?? join(packageDir, "node_modules", ".cache", "console-web"))
      const target = join(cacheDir, await sourceHash(sourceDir))
      if (existsSync(join(target, "index.html"))) return loader(target)
      mkdirSync(cacheDir, { recursive: true })
      const scratch = `${target}.building-${process.pid}-${Date.now().toString(36)}`
      try {
        await build(sourceDir, scratch)
        try {
          renameSync(scratch, target)
        } catch (cause) {
          // Another process finished the same build first: use theirs.
          if (!existsSync(join(target, "index.html"))) throw cause
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true })
      }
      return loader(target)
    },
    catch: (cause) =>
      new Error(`The console's page could not be built: ${cause instanceof Error ? cause.message : String(cause)}`)
  })
