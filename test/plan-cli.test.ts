import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { planCommand } from "../automation/planCommand";
import { ROOT, tree } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-plan-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function plan(...args: string[]) {
  // What `npm run plan` runs.
  return spawnSync(process.execPath, ["automation/launch.cjs", "plan", ...args], { cwd: ROOT, encoding: "utf8" });
}

/** `planCommand(argv)` in a fresh process: its exit status, what it said on stderr, and how many Pulumi SDK modules it loaded. */
function planInChild(argv: string[]): { code: number; err: string; pulumi: number } {
  const script = [
    'const { planCommand } = require("./automation/planCommand");',
    "let err = '';",
    `planCommand(${JSON.stringify(argv)}, { stdout: () => {}, stderr: (t) => (err += t) }).then((code) => {`,
    "  const pulumi = Object.keys(require.cache).filter((m) => m.includes('/node_modules/@pulumi/'));",
    "  process.stdout.write(JSON.stringify({ code, err, pulumi: pulumi.length }));",
    "});",
  ].join("\n");
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), ["-e", script], { cwd: ROOT, encoding: "utf8" });
  return JSON.parse(r.stdout) as { code: number; err: string; pulumi: number };
}
describe("npm run plan", () => {
  it("writes resources.json, manifests and bootstrap scripts, byte-identical across runs", () => {
    const [a, b] = [join(tmp, "a"), join(tmp, "b")];
    const first = plan("production", "--out", a);
    const second = plan("production", "--out", b);
    expect(first.status, first.stderr).toBe(0);
    expect(second.status).toBe(0);
    const files = Object.keys(tree(a));
    expect(
      files.filter((f) => !/^(resources\.json|manifests\/[^/]+\/[a-z]+-[a-z0-9.-]+\.yaml|bootstrap\/[a-z0-9-]+\.sh)$/.test(f)),
    ).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        "bootstrap/ax41-1.sh",
        "manifests/_cluster/namespace-longhorn-system.yaml",
        "manifests/enclii-data/cluster-enclii-pg.yaml",
        "manifests/enclii-data/pooler-postgres.yaml",
        "manifests/cloudflared/deployment-cloudflared.yaml",
        "manifests/enclii-platform/secret-database-enclii.yaml",
      ]),
    );
    expect(tree(a)).toEqual(tree(b));
    // Only the planning time may differ between runs.
    const same = (out: string, dir: string) => out.replace(dir, "DIR").replace(/planned in \d+ ms/g, "planned in N ms");
    expect(same(first.stdout, a)).toBe(same(second.stdout, b));
    const doc = JSON.parse(readFileSync(join(a, "resources.json"), "utf8"));
    expect(Object.keys(doc)).toEqual(["stack", "resources", "outputs"]);
    expect(Object.keys(doc.resources[0]).sort()).toEqual(
      ["dependencies", "inputs", "name", "parent", "protect", "provider", "retainOnDelete", "type", "urn"]
        .filter((k) => k in doc.resources[0])
        .sort(),
    );
  });

  it("prints a summary with nodes, cost and the secrets a real update still needs", () => {
    const r = plan("staging", "--out", join(tmp, "staging"));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Offline plan for stack "staging" (enclii.dev)');
    expect(r.stdout).toContain("staging      server  cloud cx33 created in nbg1 (fallbacks fsn1, hel1), private 10.0.1.10, public IPv4");
    expect(r.stdout).toMatch(/\$11\.72 {2}total of \$50\.00 budget/);
    expect(r.stdout).toContain(
      "Secrets a real `pulumi up` still needs (placeholders here): cloudflare:apiToken, enclii:januaSigningKeys, enclii:smtpPassword, enclii:sshPrivateKey, hcloud:token",
    );
    // Staging has custom hostnames on: whatever has no rule goes to the tenant router.
    expect(r.stdout).toContain("(anything else)                  → http://tenant-router.enclii-tenant-router.svc.cluster.local:8000");
  });

  it("removes files a previous plan wrote that this plan no longer produces", () => {
    const dir = join(tmp, "stale");
    plan("ha", "--config", "examples/Pulumi.ha.yaml", "--out", dir);
    expect(Object.keys(tree(dir))).toContain("bootstrap/node-2.sh");
    writeFileSync(join(dir, "notes.txt"), "mine");
    plan("ha", "--config", "Pulumi.staging.yaml", "--out", dir);
    expect(Object.keys(tree(dir))).not.toContain("bootstrap/node-2.sh");
    expect(Object.keys(tree(dir))).toContain("notes.txt");
  });

  it("exits 2 naming every bad key of a broken stack file, and writes nothing", () => {
    const file = join(tmp, "Pulumi.broken.yaml");
    writeFileSync(
      file,
      [
        "config:",
        "  enclii:domain: Enclii",
        "  enclii:adminCidrs: [0.0.0.0/0]",
        "  enclii:nodes:",
        "    - { name: a, kind: cloud, serverType: cpx99, locations: [nbg1], role: server, count: 2 }",
        "  enclii:k3s: { version: latest }",
        "  enclii:colour: blue",
        "",
      ].join("\n"),
    );
    const out = join(tmp, "broken");
    const r = plan("broken", "--config", file, "--out", out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("enclii:colour: unknown config key");
    expect(r.stderr).toContain("enclii:domain: must be a lowercase fully qualified domain name");
    expect(r.stderr).toContain('enclii:nodes[0].serverType: unknown server type "cpx99"');
    expect(r.stderr).toContain("enclii:nodes: 2 servers cannot keep etcd quorum");
    expect(r.stderr).toContain('enclii:k3s.version: must be a pinned k3s release such as "v1.33.4+k3s1"');
    expect(r.stderr).toContain("enclii:adminCidrs: together they admit every IPv4 address");
    expect(r.stderr).toContain("enclii:sshPublicKey: is required when cloud nodes are created");
    expect(() => statSync(out)).toThrow();
  });

  it("exits 2 naming each path option that leads nowhere, before loading Pulumi or writing anything", () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "");
    const argv = ["staging", "--tenants", join(tmp, "no-tenants"), "--config", tmp, "--out", join(tmp, "no-parent", "out")];
    expect(planInChild(argv)).toEqual({
      code: 2,
      err: [
        `--config: ${tmp} is a directory, not a stack file`,
        `--tenants: no directory ${join(tmp, "no-tenants")}`,
        `--out: no directory ${join(tmp, "no-parent")} to write ${join(tmp, "no-parent", "out")} in`,
        "usage: npm run plan -- <stack> [--out DIR] [--config FILE] [--tenants DIR] [--against DIR|REF] [--jobs N] [--json]",
        "",
      ].join("\n"),
      pulumi: 0,
    });
    expect(() => statSync(join(tmp, "no-parent"))).toThrow();
    // Through the CLI, one at a time: a missing stack file, a file where a directory goes.
    expect(plan("staging", "--config", join(tmp, "Pulumi.nosuch.yaml"))).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(new RegExp(`^--config: no stack file ${join(tmp, "Pulumi.nosuch.yaml")}\n`)),
    });
    expect(plan("staging", "--tenants", file, "--out", file)).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(
        new RegExp(`^--tenants: ${file} is a file, not a directory\n--out: ${file} is a file, not a directory\n`),
      ),
    });
  });

  it("exits 2 for a budget the servers alone exceed, before loading Pulumi or writing anything", () => {
    const file = join(tmp, "Pulumi.staging.yaml");
    writeFileSync(file, readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace("    monthlyUsd: 50\n", "    monthlyUsd: 5\n"));
    const out = join(tmp, "over-budget");
    // Staging's one cx33 is €8.99, $9.78 a month at the seed's rate (docs/capacity-and-cost.md).
    expect(planInChild(["staging", "--config", file, "--out", out])).toEqual({
      code: 2,
      err: "invalid stack config:\n  - enclii:budget.monthlyUsd: the servers alone cost $9.78 a month, over the budget of $5.00 by $4.78\n",
      pulumi: 0,
    });
    expect(() => statSync(out)).toThrow();
  });

  it("compares with the plan its --out held before, when --against names the same directory", async () => {
    const dir = join(tmp, "same-dir");
    const io = { stdout: () => undefined, stderr: () => undefined };
    expect(await planCommand(["staging", "--out", dir], io)).toBe(0);
    const replicas = join(tmp, "replicas.yaml");
    writeFileSync(
      replicas,
      readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace("switchyard-ui: { replicas: 1 }", "switchyard-ui: { replicas: 2 }"),
    );
    // The old plan is read before this one overwrites it: the change shows (exit 3), then the directory holds the new plan.
    expect(await planCommand(["staging", "--config", replicas, "--out", dir, "--against", dir], io)).toBe(3);
    expect(await planCommand(["staging", "--config", replicas, "--out", dir, "--against", dir], io)).toBe(0);
  });

  it("answers an unknown option or one without its value with exit 2, called as a function too", async () => {
    let err = "";
    const io = { stdout: () => undefined, stderr: (t: string) => void (err += t) };
    expect(await planCommand(["staging", "--outt", "x"], io)).toBe(2);
    expect(err).toMatch(/^Unknown option '--outt'/);
    err = "";
    expect(await planCommand(["staging", "--out"], io)).toBe(2);
    expect(err).toMatch(/^Option '--out <value>' argument missing\n/);
  });

  it("exits 2, a usage error, for a missing stack file or no stack", () => {
    expect(plan("nosuch")).toMatchObject({ status: 2, stderr: expect.stringContaining("no stack file Pulumi.nosuch.yaml") });
    expect(plan()).toMatchObject({ status: 2, stderr: expect.stringContaining("error: missing required argument 'stack'") });
  });
});
