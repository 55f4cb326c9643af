import { defineConfig } from "vitest/config"

// One config, a project per package. Sources are resolved through the "@linecast/source" export
// condition, so tests run against TypeScript sources with no build step.
const conditions = ["@linecast/source", "import", "module", "node", "default"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: "testkit", root: "packages/testkit", include: ["test/**/*.test.ts"] }
      }
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
