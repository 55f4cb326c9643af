/**
 * A worker bundled into one JavaScript file, as a deployment runs compiled code: Linecast's own
 * packages are compiled in from their sources, every other package stays an import. Measuring
 * memory through `tsx` would count its on-the-fly compiler and source maps, which no deployment has.
 */
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const cache = fileURLToPath(new URL("../../node_modules/.cache/linecast-bench/", import.meta.url))

/** Builds `src/workers/<name>.ts`; answers the bundle's path. */
export const bundleWorker = async (name: string): Promise<string> => {
  mkdirSync(cache, { recursive: true })
  const outfile = `${cache}${name}.mjs`
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@linecast/source"],
    logLevel: "warning",
    plugins: [
      {
        name: "only-linecast-inside",
        setup: (build) => {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@linecast/") ? undefined : { path: args.path, external: true }
          )
        }
      }
    ]
  })
  return outfile
}
