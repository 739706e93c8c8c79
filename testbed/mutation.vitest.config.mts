/**
 * The vitest config of `npm run mutation` (testbed/mutation.ts): the project's own, limited to the
 * test files named in MUTATION_TESTS. The list reaches vitest this way rather than as Stryker's
 * `testFiles`, because Stryker 9.6.1 then activates static mutants only after their module has
 * loaded, and reports them survived (stryker-js#6144; core's MutantTestPlanner.createMutantRunPlan
 * picks runtime activation whenever a test filter exists).
 */
import { relative } from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import base from "../vitest.config.mts";

const tests: unknown = JSON.parse(process.env.MUTATION_TESTS ?? "[]");
if (!Array.isArray(tests) || tests.length === 0)
  throw new Error("MUTATION_TESTS: set it to a JSON list of test files (testbed/mutation.ts does)");

/**
 * Files in the order listed (testbed/mutation.ts lists the smallest first), not vitest's slowest
 * first: Stryker bails at the first failure, so a killed mutant that reruns every file (a static
 * one) usually stops after the quick files instead of waiting on the slow ones.
 */
class ListedOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => (tests as string[]).indexOf(relative(this.ctx.config.root, f.moduleId));
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

// Spread, not mergeConfig: that would append the list to the base include of every test.
export default defineConfig({ ...base, test: { ...base.test, include: tests as string[], sequence: { sequencer: ListedOrder } } });
