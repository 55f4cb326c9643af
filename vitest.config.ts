import { defineConfig } from "vitest/config"

// One config, a project per package. Sources are resolved through the "@linecast/source" export
// condition, so tests run against TypeScript sources with no build step.
// Only for what Vite itself resolves: giving Node extra conditions would change how CommonJS
// dependencies (pg) require each other.
const conditions = ["@linecast/source", "module", "node", "development|production"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: "testkit", root: "packages/testkit", include: ["test/**/*.test.ts"] }
      },
      {
        extends: true,
        test: { name: "core", root: "packages/core", include: ["test/**/*.test.ts"] }
      },
      {
        extends: true,
        test: { name: "delivery", root: "packages/delivery", include: ["test/**/*.test.ts"] }
      },
      {
        extends: true,
        test: { name: "crm-webhook", root: "apps/crm-webhook", include: ["test/**/*.test.ts"] }
      },
      {
        extends: true,
        test: { name: "telegram-relay", root: "apps/telegram-relay", include: ["test/**/*.test.ts"] }
      },
      {
        extends: true,
        // These tests start the CLI as real processes: on a busy 2-core machine each start takes seconds.
        test: { name: "node-plugin", root: "apps/node-plugin", include: ["test/**/*.test.ts"], testTimeout: 120_000 }
      },
      {
        extends: true,
        test: { name: "console", root: "apps/console", include: ["test/**/*.test.ts"] }
      },
      {
        extends: true,
        test: { name: "reliability", root: "packages/reliability", include: ["test/**/*.test.ts"] }
      }
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
