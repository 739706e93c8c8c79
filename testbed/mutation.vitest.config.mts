/**
 * The vitest config of `npm run mutation` (testbed/mutation.ts): the project's own, limited to the
 * test files named in MUTATION_TESTS. The list reaches vitest this way rather than as Stryker's
 * `testFiles`, because Stryker 9.6.1 then activates static mutants only after their module has
 * loaded, and reports them survived (stryker-js#6144; core's MutantTestPlanner.createMutantRunPlan
 * picks runtime activation whenever a test filter exists).
 */
import { defineConfig } from "vitest/config";
import base from "../vitest.config.mts";

const tests: unknown = JSON.parse(process.env.MUTATION_TESTS ?? "[]");
if (!Array.isArray(tests) || tests.length === 0)
  throw new Error("MUTATION_TESTS: set it to a JSON list of test files (testbed/mutation.ts does)");

// Spread, not mergeConfig: that would append the list to the base include of every test.
export default defineConfig({ ...base, test: { ...base.test, include: tests as string[] } });
