/** `npm run mutation` (testbed/mutation.ts): which tests it gives a module, and its refusals. */
import { describe, expect, it } from "vitest";
import { importGraph, nearestTests, parseArgs } from "../testbed/mutation";

describe("npm run mutation", () => {
  it("names every problem with its options at once", () => {
    expect(parseArgs(["--concurrency", "0", "--bogus", "model/net.ts"])).toEqual({
      modules: ["model/net.ts"],
      concurrency: 0,
      errors: ['--concurrency: expected a whole number ≥ 1, got "0"', "--bogus: unknown option (known: --concurrency N)"],
    });
    expect(parseArgs(["--concurrency"]).errors).toEqual([
      '--concurrency: expected a whole number ≥ 1, got ""',
      "no module named: npm run mutation -- <module.ts>…",
    ]);
    expect(parseArgs(["a.ts", "b.ts"])).toEqual({ modules: ["a.ts", "b.ts"], concurrency: 2, errors: [] });
  });

  it("gives a module the unit tests that import it, else those reaching it in the fewest imports", () => {
    const graph = new Map<string, string[]>([
      ["test/direct.test.ts", ["model/rule.ts"]],
      ["test/through-loader.test.ts", ["stacks/config.ts"]],
      ["test/far.test.ts", ["stacks/index.ts"]],
      ["test/server.real.test.ts", ["model/rule.ts", "model/deep.ts"]],
      ["test/shard-plans.test.ts", ["model/rule.ts"]],
      ["test/helper.ts", ["model/deep.ts"]],
      ["stacks/index.ts", ["stacks/config.ts"]],
      ["stacks/config.ts", ["model/deep.ts", "stacks/index.ts"]],
      ["model/rule.ts", []],
      ["model/deep.ts", []],
    ]);
    // Real-server tests and the files Stryker cannot host are never given.
    expect(nearestTests(graph, "model/rule.ts")).toEqual({ tests: ["test/direct.test.ts"], steps: 1 });
    // Through the loader at two steps; the file three steps away (and an import cycle) is not needed.
    expect(nearestTests(graph, "model/deep.ts")).toEqual({ tests: ["test/through-loader.test.ts"], steps: 2 });
    expect(nearestTests(graph, "model/unused.ts")).toEqual({ tests: [], steps: Infinity });
  });

  it("reads the project's imports as TypeScript resolves them", () => {
    const graph = importGraph(["test/connection-budget.test.ts", "model/rules/connectionBudget.ts"]);
    expect(graph.get("test/connection-budget.test.ts")).toEqual(["model/rules/connectionBudget.ts"]);
    expect(nearestTests(graph, "model/rules/connectionBudget.ts").tests).toEqual(["test/connection-budget.test.ts"]);
  });
});
