/**
 * The layering rules in .dependency-cruiser.cjs, run by the real dependency-cruiser CLI on a small
 * tree that breaks each rule once: every forbidden import fails with the rule's name, and the
 * imports the layering allows pass.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./harness";

/** path → its imports; each forbidden one is listed with the rule it breaks. */
const TREE: Record<string, string[]> = {
  "model/names.ts": [],
  "model/bad-layer.ts": ["../components/baseline"],
  "model/bad-sdk.ts": ["@pulumi/pulumi"],
  "components/baseline.ts": ["../model/names"],
  "components/bad-helper.ts": ["./edge/tunnel"],
  "components/hetzner/pool.ts": ["../../model/names", "../baseline"],
  "components/hetzner/bad-up.ts": ["../k3s/cluster"],
  "components/k3s/cluster.ts": ["../hetzner/pool"],
  "components/edge/tunnel.ts": ["../baseline"],
  "components/auth/janua.ts": ["../edge/tunnel"],
  "components/auth/bad-apps.ts": ["../apps/env"],
  "components/apps/env.ts": ["../auth/janua", "../../model/names"],
  "components/data/bad-stacks.ts": ["../../stacks/config"],
  "stacks/config.ts": ["../model/names"],
  "stacks/program.ts": ["../components/apps/env", "./config"],
  "stacks/bad-automation.ts": ["../automation/plan"],
  "automation/plan.ts": ["../stacks/program"],
  "policy/rules.ts": ["../model/names"],
  "policy/bad-components.ts": ["../components/baseline"],
  "testbed/servers.ts": ["../model/names"],
  "bench/data.ts": ["../testbed/servers", "../automation/plan"],
  "bench/bad-tests.ts": ["../test/harness"],
  "test/harness.ts": ["../automation/plan", "../testbed/servers"],
  "test/cycle-a.ts": ["./cycle-b"],
  "test/cycle-b.ts": ["./cycle-a"],
};

const EXPECTED = [
  "model-is-the-ground-floor: model/bad-layer.ts → components/baseline.ts",
  "model-registers-nothing: model/bad-sdk.ts → @pulumi/pulumi/index.js",
  "shared-component-helpers-import-no-layer: components/bad-helper.ts → components/edge/tunnel.ts",
  "layer-order-hetzner: components/hetzner/bad-up.ts → components/k3s/cluster.ts",
  "layer-order-auth: components/auth/bad-apps.ts → components/apps/env.ts",
  "components-below-stacks: components/data/bad-stacks.ts → stacks/config.ts",
  "stacks-below-automation: stacks/bad-automation.ts → automation/plan.ts",
  "policy-reads-model-only: policy/bad-components.ts → components/baseline.ts",
  "bench-never-imports-tests: bench/bad-tests.ts → test/harness.ts",
  "no-circular: test/cycle-a.ts → test/cycle-b.ts → test/cycle-a.ts",
];

describe("layering rules (dependency-cruiser)", () => {
  let dir: string;
  let result: { status: number | null; stdout: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "enclii-layers-"));
    for (const [path, imports] of Object.entries(TREE)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), `${imports.map((m, i) => `import * as m${i} from "${m}";\nvoid m${i};\n`).join("")}export {};\n`);
    }
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "commonjs", moduleResolution: "node" } }));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const bin = join(ROOT, "node_modules", ".bin", "depcruise");
    const dirs = ["model", "components", "stacks", "automation", "policy", "testbed", "bench", "test"];
    const run = spawnSync(bin, ["--config", join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "err", ...dirs], {
      cwd: dir,
      encoding: "utf8",
    });
    result = { status: run.status, stdout: run.stdout + run.stderr };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("fails on each forbidden import, naming the rule, the importer and the imported file", () => {
    expect(result.status).not.toBe(0);
    // A violation is "error <rule>: <from> → <to>"; a cycle lists its members on the lines below.
    const found: string[] = [];
    for (const line of result.stdout.split("\n")) {
      const error = /^\s*error (.*?)[\s→]*$/.exec(line)?.[1];
      if (error !== undefined) found.push(error);
      else if (/^\s{6,}\S/.test(line) && found.length > 0) found[found.length - 1] += ` → ${line.replace(/[\s→]+$/, "").trim()}`;
    }
    const normalized = found.map((f) => f.replace(/ → \S*node_modules\//, " → "));
    expect(normalized.sort()).toEqual([...EXPECTED].sort());
  });

  it("passes the repository itself", () => {
    const bin = join(ROOT, "node_modules", ".bin", "depcruise");
    const dirs = ["model", "components", "stacks", "automation", "policy", "testbed", "bench", "test"];
    const run = spawnSync(bin, ["--config", ".dependency-cruiser.cjs", ...dirs], { cwd: ROOT, encoding: "utf8" });
    expect(run.stdout + run.stderr).toContain("no dependency violations found");
    expect(run.status).toBe(0);
  });
});
