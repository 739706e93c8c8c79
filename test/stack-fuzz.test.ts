/**
 * Property-based: stack files generated from the four valid ones and the config's zod schemas, and
 * broken the way people break them (testbed/stackFuzz.ts). Every one is either refused with each
 * problem naming a key path or file position, or accepted, and then plans through the real program
 * under mocks; never a stack trace, never a secret.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { CANARY, caseArbitrary, check, planAccepted, render, violation } from "../testbed/stackFuzz";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";

/** Fixed, so a failure is reproduced by the same run; the bench runs many more with fresh seeds. */
const SEED = 20_261_202;
const RUNS = 300;
/** Accepted files planned through the real program (about 0.4 s each); the rest of them are config-checked only. */
const MAX_PLANS = 60;

describe("generated and mutated stack files", () => {
  it(`${RUNS} cases: each is refused naming its keys or accepted (the first ${MAX_PLANS} accepted then plan), never a stack trace or a secret`, async () => {
    const { runPlan } = await import("../automation/plan");
    const specs = readSpecFiles(DOGFOODING_DIR);
    const seen = { planned: 0, refused: 0 };
    // Each plan warns about the placeholder key's age and the documentation address; hundreds of those say nothing here.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const outcome = check(render(c), specs);
        const broken = violation(outcome);
        if (broken) throw new Error(broken);
        if (outcome.code === 2) {
          seen.refused++;
          return;
        }
        if (seen.planned >= MAX_PLANS) return;
        const plan = await planAccepted(() => runPlan("fuzz", outcome.cfg!));
        if (!plan) {
          seen.refused++;
          return;
        }
        expect(JSON.stringify(plan)).not.toContain(CANARY);
        seen.planned++;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    warn.mockRestore();
    // Both sides of the property were exercised.
    expect(seen.planned).toBe(MAX_PLANS);
    expect(seen.refused).toBeGreaterThan(RUNS / 2);
  });
});
