import { defineConfig } from "vitest/config";

// scripts/e2e/shapes.sh only: the chart's values shapes (shapes.test.ts), a `make e2e` stage of its own after
// the scenarios (test/e2e/vitest.config.ts leaves it out).
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/shapes.test.ts"],
    setupFiles: ["test/e2e/cluster-only.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
