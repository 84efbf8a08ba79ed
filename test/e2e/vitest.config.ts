import { defineConfig } from "vitest/config";

// `make e2e` only (scripts/e2e/run.sh runs it inside the e2e cluster's network namespace): the scenarios
// against the chart's pod on a real node. Not part of `make test`: its root config never includes test/e2e.
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.test.ts"],
    exclude: ["test/e2e/shapes.test.ts"], // a stage of its own: scripts/e2e/shapes.sh
    setupFiles: ["test/e2e/cluster-only.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
