import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file gets a fresh module graph: Pulumi's runtime (mocks, config, stack) is global state.
    isolate: true,
    // Safety nets for a hung test, not budgets: tests wait on conditions, and a loaded 2-core
    // machine can take several times as long as an idle one to start six Redis pods or plan 300 stacks.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
