import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file gets a fresh module graph: Pulumi's runtime (mocks, config, stack) is global state.
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
