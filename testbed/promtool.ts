/**
 * promtool over rule groups the program renders: `check rules` and `test rules` on files in a
 * temp dir, returning promtool's verdict and output.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { RuleGroup } from "../model/observability/slo";

export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** Each entry of `files` is a rule file; `tests` (when given) is a promtool unit-test file over them. */
export function promtool(files: Record<string, RuleGroup[]>, tests?: Record<string, unknown>): PromtoolResult {
  const dir = mkdtempSync(join(tmpdir(), "enclii-promtool-"));
  try {
    for (const [name, groups] of Object.entries(files)) writeFileSync(join(dir, name), stringify({ groups }));
    const args = tests ? ["test", "rules", "tests.yaml"] : ["check", "rules", ...Object.keys(files)];
    if (tests) writeFileSync(join(dir, "tests.yaml"), stringify({ rule_files: Object.keys(files), ...tests }));
    const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
