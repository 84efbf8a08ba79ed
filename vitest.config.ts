import { defineConfig } from "vitest/config";

// Two projects: `unit` needs nothing but Node (pure planners, and the client against an in-process
// simulator over loopback HTTP); `integration` shares one real control plane per run (global setup).
export default defineConfig({
  test: {
    setupFiles: ["test/support/loopback-only.ts"],
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/controlplane/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
