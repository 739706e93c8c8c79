/**
 * The pull-request comment, produced as anyone can locally (`enclii-infra pr-comment --base main`)
 * in a scratch git repository holding this checkout, for two branches a reviewer would see.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { againstRef } from "../automation/against";
import { COMMENT_MARKER } from "../automation/prComment";
import { readShardInputs } from "../automation/shardInputs";
import { makeTenants, writeShardFiles } from "../testbed/tenantShards";
import { ROOT } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-pr-"));
const repo = join(tmp, "repo");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

beforeAll(() => {
  // The checkout as it is (tracked and new files), committed as `main` of a scratch repository.
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n");
  for (const f of files) {
    mkdirSync(dirname(join(repo, f)), { recursive: true });
    cpSync(join(ROOT, f), join(repo, f));
  }
  symlinkSync(join(ROOT, "node_modules"), join(repo, "node_modules"));
  git("init", "--quiet", "--initial-branch=main");
  // As in a real checkout, node_modules is not committed: the base's worktree borrows this one.
  writeFileSync(join(repo, ".git", "info", "exclude"), "node_modules\n");
  git("-c", "user.email=ci@enclii.dev", "-c", "user.name=ci", "add", "-A");
  git("-c", "user.email=ci@enclii.dev", "-c", "user.name=ci", "commit", "--quiet", "-m", "base");
});

function branch(name: string, edit: (staging: string) => string) {
  git("checkout", "--quiet", "-B", name, "main");
  const file = join(repo, "Pulumi.staging.yaml");
  writeFileSync(file, edit(readFileSync(file, "utf8")));
  git("-c", "user.email=ci@enclii.dev", "-c", "user.name=ci", "commit", "--quiet", "-am", name);
}

const comment = () =>
  spawnSync(process.execPath, ["automation/launch.cjs", "pr-comment", "--base", "main"], { cwd: repo, encoding: "utf8" });

describe("enclii-infra pr-comment", () => {
  it("a branch raising switchyard-ui's replicas: staging changes exactly that, production nothing", () => {
    branch("more-replicas", (s) => s.replace("switchyard-ui: { replicas: 1 }", "switchyard-ui: { replicas: 2 }"));
    const res = comment();
    expect(res.status, res.stderr).toBe(3);
    const body = res.stdout;
    expect(body.startsWith(`${COMMENT_MARKER}\n## Offline plan against \`main\`\n`)).toBe(true);
    expect(body).toContain(
      "### staging: changes\n\n| | resource | changed inputs |\n|---|---|---|\n" +
        "| ~ | `kubernetes:apps/v1:Deployment` `enclii-apps-switchyard-ui-deployment` | `spec.replicas` |\n" +
        "| + | `kubernetes:policy/v1:PodDisruptionBudget` `enclii-apps-switchyard-ui-pdb` |  |\n" +
        "| ~ | `pulumi:pulumi:Stack` `enclii-infra-staging` | `outputs.services[5].replicas` |\n",
    );
    expect(body).toContain("### production: no change\n");
    expect(body).toContain("**Capacity:** staging (cx33) 3.02/3.34 vCPU");
    expect(body).toContain("**Bill:** $11.72 a month of a $50.00 budget");
    expect(body).not.toContain(":warning:");
  });

  it("a branch growing the database: staging's Cluster size changes, nothing is replaced", () => {
    branch("bigger-database", (s) => s.replace("    storageGi: 20\n", "    storageGi: 30\n"));
    const res = comment();
    expect(res.status, res.stderr).toBe(3);
    expect(res.stdout).toContain(
      "### staging: changes\n\n| | resource | changed inputs |\n|---|---|---|\n" +
        "| ~ | `kubernetes:postgresql.cnpg.io/v1:Cluster` `enclii-data-postgres-enclii-pg` | `spec.storage.size` |\n\n",
    );
    expect(res.stdout).toContain("disk 46/60 GiB");
    expect(res.stdout).not.toContain(":warning:");
  });

  it("a branch renaming the database cluster: flagged, and the exit status says so", () => {
    branch("renamed-database", (s) =>
      s.replace("    backupRetentionDays: 3\n", "    backupRetentionDays: 3\n    clusterName: enclii-pg2\n"),
    );
    const res = comment();
    expect(res.status, res.stderr).toBe(4);
    expect(res.stdout).toContain("### staging: **replaces or deletes something that holds data**");
    expect(res.stdout).toContain(
      "| − | `kubernetes:postgresql.cnpg.io/v1:Cluster` `enclii-data-postgres-enclii-pg` | <br>:warning: DELETES (holds data): it is no longer in the program |",
    );
  });
});

describe("enclii-infra pr-comment with tenant shards", () => {
  const commitShards = (name: string, from: string, shards: { stack: string; tenants: ReturnType<typeof makeTenants> }[]) => {
    git("checkout", "--quiet", "-B", name, from);
    writeShardFiles(join(repo, "tenants"), shards);
    git("-c", "user.email=ci@enclii.dev", "-c", "user.name=ci", "add", "-A");
    git("-c", "user.email=ci@enclii.dev", "-c", "user.name=ci", "commit", "--quiet", "-m", name);
  };

  it("a branch adding one tenant: its shard's changes, the other shard unchanged and not planned", () => {
    const [a, b, c] = makeTenants(3);
    commitShards("with-tenants", "main", [
      { stack: "staging-000", tenants: [a, b] },
      { stack: "staging-001", tenants: [c] },
    ]);
    commitShards("one-more-tenant", "with-tenants", [{ stack: "staging-001", tenants: [c, ...makeTenants(1, "new")] }]);
    const res = spawnSync(process.execPath, ["automation/launch.cjs", "pr-comment", "--base", "with-tenants", "--stacks", "staging"], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(res.status, res.stderr).toBe(3);
    expect(res.stdout).toContain("### staging: changes\n\n#### staging-001: changes\n\n| | resource | changed inputs |\n|---|---|---|\n");
    expect(res.stdout).toContain("| + | `kubernetes:core/v1:Namespace` `tenants-new0000-namespace` |  |\n");
    expect(res.stdout).toContain("| + | `cloudflare:index/customHostname:CustomHostname` `tenants-app.new0000.example.com` |  |\n");
    expect(res.stdout).toContain("**Tenant shards:** 1 unchanged, not planned");
    expect(res.stdout).not.toContain("staging-000");
  });

  it("the base's own planner, through its CLI, skips the shards whose digests this checkout shares", () => {
    const head = join(tmp, "head-plan");
    const planned = spawnSync(process.execPath, ["automation/launch.cjs", "plan", "staging", "--out", head], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(planned.status, planned.stderr).toBe(0);
    const digests = readShardInputs(head)!;
    const base = againstRef("with-tenants", "staging", [], digests, repo);
    try {
      expect(base.shards?.["staging-000"]).toEqual({ inputs: digests["staging-000"].inputs, planned: false });
      expect(base.shards?.["staging-001"]?.planned).toBe(true);
      expect(base.shards?.["staging-001"]?.inputs).not.toBe(digests["staging-001"].inputs);
    } finally {
      base.done();
    }
  });
});
