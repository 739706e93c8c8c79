/**
 * The restore drill: its script shellchecked, its objects against the CloudNativePG CRDs, and the
 * script run by bash against a stand-in kubectl (and the real jq) that answers like a cluster:
 * a good drill passes and cleans up; a stale backup, a table missing from the restore and an old
 * etcd snapshot fail it, and it still cleans up.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { drillObjects, renderDrillScript } from "../automation/drill";
import { loadStackConfig } from "../automation/stackFile";
import type { Environment } from "../model/config/schema";
import { parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT, requireTool, shellcheck, validateObject } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-drill-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function env(file: string, stack: string): Environment {
  const cfg = loadStackConfig(join(ROOT, file));
  return parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
}
const production = env("Pulumi.production.yaml", "production");
const PASSWORD = "s3cr3t-role-password";

/**
 * kubectl as a cluster would answer the drill, from files in `state`: `backup-age-h`, `snapshot-age-h`,
 * and `restored-<db>` / `current-<db>` (the counts psql prints). Every call's arguments go to `calls`.
 */
const STANDIN_KUBECTL = `#!/usr/bin/env bash
set -euo pipefail
state="$DRILL_STATE"
printf '%s\\n' "$*" >> "$state/calls"
iso() { date -u -d "-$1 hours" +%Y-%m-%dT%H:%M:%SZ; }
case "$*" in
  *"get cluster"*lastSuccessfulBackup*) iso "$(cat "$state/backup-age-h")" ;;
  "apply -f -") cat > "$state/applied.yaml" ;;
  *"wait cluster"*|*"rollout status"*) ;;
  *"get secret"*) printf '%s' "${PASSWORD}" | base64 ;;
  *"exec -i"*)
    read -r pw
    [ "$pw" = "${PASSWORD}" ] || { echo "wrong password" >&2; exit 1; }
    sql=$(cat)
    case "$sql" in *gexec*) ;; *) echo "no count query" >&2; exit 1 ;; esac
    db=$(printf '%s' "$*" | sed -E 's/.* -d ([a-z]+).*/\\1/')
    # The pooler psql connects to: the real one (postgres) or the drill's.
    case "$*" in *"-h postgres "*) cat "$state/current-$db" ;; *) cat "$state/restored-$db" ;; esac ;;
  *"get etcdsnapshotfiles"*)
    printf '{"items":[{"status":{"readyToUse":true,"creationTime":"%s"}},{"status":{"readyToUse":false,"creationTime":"%s"}}]}' "$(iso "$(cat "$state/snapshot-age-h")")" "$(iso 0)" ;;
  *delete*) ;;
  *) echo "stand-in kubectl: unexpected: $*" >&2; exit 1 ;;
esac
`;

function drill(name: string, setup: Record<string, string>) {
  const state = join(tmp, name);
  const bin = join(state, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "kubectl"), STANDIN_KUBECTL, { mode: 0o755 });
  const files = { "backup-age-h": "2", "snapshot-age-h": "3", ...setup };
  for (const [f, text] of Object.entries(files)) writeFileSync(join(state, f), text);
  const run = spawnSync("bash", ["-s"], {
    input: renderDrillScript(production),
    env: { PATH: `${bin}:/usr/bin:/bin`, DRILL_STATE: state },
    encoding: "utf8",
  });
  const calls = readFileSync(join(state, "calls"), "utf8");
  return { ...run, calls };
}
const counts = (rows: Record<string, number>) =>
  `${Object.entries(rows)
    .map(([t, n]) => `${t} ${n}`)
    .join("\n")}\n`;
const SAME = {
  "current-enclii": counts({ "public.deployments": 120, "public.projects": 14 }),
  "restored-enclii": counts({ "public.deployments": 118, "public.projects": 14 }),
  "current-janua": counts({ "public.users": 40 }),
  "restored-janua": counts({ "public.users": 40 }),
};

describe("the restore drill's script", () => {
  it("passes shellcheck for every stack, and says an external database has nothing to drill", () => {
    for (const [file, stack] of [
      ["Pulumi.production.yaml", "production"],
      ["Pulumi.staging.yaml", "staging"],
      ["examples/Pulumi.ha.yaml", "ha"],
      ["examples/Pulumi.external.yaml", "external"],
    ])
      expect(shellcheck(renderDrillScript(env(file, stack))), stack).toBe("");
    expect(renderDrillScript(env("examples/Pulumi.external.yaml", "external"))).toContain("external PostgreSQL: nothing to drill here");
  });

  it("restores into a throw-away cluster from the source's archive, without archiving WAL itself", async () => {
    const [cluster, pooler] = drillObjects(production, "enclii-pg-drill-202612021200") as { spec: Record<string, unknown> }[];
    for (const o of [cluster, pooler]) await expect(validateObject(o as never)).resolves.toBeUndefined();
    expect(cluster.spec).toMatchObject({
      instances: 1,
      bootstrap: { recovery: { source: "origin" } },
      externalClusters: [{ name: "origin", plugin: { parameters: { barmanObjectName: "r2-backups", serverName: "enclii-pg" } } }],
    });
    expect(cluster.spec.plugins).toBeUndefined();
    expect(pooler.spec).toEqual({
      cluster: { name: "enclii-pg-drill-202612021200" },
      instances: 1,
      type: "rw",
      pgbouncer: { poolMode: "transaction" },
    });
  });
});

describe("the restore drill, run by bash against a stand-in kubectl", () => {
  const haveTools = requireTool("jq");

  it.runIf(haveTools)("passes when the restore has every table, and removes what it made", () => {
    const r = drill("good", SAME);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/drill: passed\n/);
    expect(r.stderr).toContain("  enclii public.deployments                       now        120  restored        118\n");
    expect(readFileSync(join(tmp, "good", "applied.yaml"), "utf8")).toMatch(/name: enclii-pg-drill-\d{12}\n/);
    expect(r.calls).toMatch(/-n enclii-data delete cluster enclii-pg-drill-\d{12} --ignore-not-found --wait=true/);
    // The password travelled on standard input only.
    expect(r.calls).not.toContain(PASSWORD);
  });

  it.runIf(haveTools)("fails on a table missing from the restore, and still cleans up", () => {
    const r = drill("missing", { ...SAME, "restored-janua": counts({}) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("drill: janua: missing from the restore: public.users");
    expect(r.calls).toMatch(/delete cluster enclii-pg-drill-/);
  });

  it.runIf(haveTools)("fails before restoring anything when the last base backup is too old", () => {
    const r = drill("stale", { ...SAME, "backup-age-h": "30" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("drill: the last base backup is older than 26 h");
    expect(r.calls).not.toContain("apply -f -");
  });

  it.runIf(haveTools)("fails when the newest usable etcd snapshot is too old (an unusable newer one does not count)", () => {
    const r = drill("old-etcd", { ...SAME, "snapshot-age-h": "40" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/newest etcd snapshot: \S+ \(40 h ago\)/);
  });
});

describe("npm run drill", () => {
  const cli = (args: string[], path = process.env.PATH) =>
    spawnSync(process.execPath, [join(ROOT, "automation", "launch.cjs"), "drill", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, PATH: path },
    });

  it("prints the script for a stack, and refuses --run without kubectl, saying so", () => {
    const printed = cli(["production"]);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(renderDrillScript(production));
    const run = cli(["production", "--run"], "/nonexistent");
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("drill --run needs kubectl and jq on PATH (and KUBECONFIG for production)\n");
    expect(cli(["nosuch"]).status).toBe(2);
  });
});
