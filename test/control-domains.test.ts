import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { domainsAdd, domainsList, domainsRemove, domainsStatus } from "../automation/control/domains";
import { loadEnvironment } from "../automation/control/environment";
import type { Options } from "../automation/control/operations";
import { EXIT } from "../model/controlPlane";
import type { HostnameStatus } from "../components/tenants/TenantShard";
import { FakeStack, opener } from "./controlStack";
import { ROOT } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-domains-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let root: string;
let n = 0;

beforeEach(() => {
  root = join(tmp, String(n++));
  mkdirSync(join(root, "tenants"), { recursive: true });
  cpSync(join(ROOT, "Pulumi.staging.yaml"), join(root, "Pulumi.staging.yaml"));
  cpSync(join(ROOT, "dogfooding"), join(root, "dogfooding"), { recursive: true });
});

const tenantsOf = (stack: string) =>
  parse(readFileSync(join(root, "tenants", `Pulumi.${stack}.yaml`), "utf8")).config["enclii-tenants:tenants"];

function writeShard(stack: string, tenants: object[]) {
  writeFileSync(
    join(root, "tenants", `Pulumi.${stack}.yaml`),
    `# ${stack}, kept by hand\nconfig:\n  enclii-tenants:tenants: ${JSON.stringify(tenants)}\n`,
  );
}

const status = (tenant: string, hostname: string): HostnameStatus => ({
  tenant,
  status: "pending",
  sslStatus: "pending_validation",
  cnameTarget: "proxy.enclii.dev",
  ownershipVerification: { type: "TXT", name: `_cf-custom-hostname.${hostname}`, value: "5cc07c04" },
  sslValidation: [{ type: "TXT", name: `_acme-challenge.${hostname}`, value: "ca3-5749" }],
});

function options(stacks: FakeStack[], allow: string[] = []): Options & { opened: ReturnType<typeof opener>["opened"] } {
  const open = opener(stacks);
  return { open, opened: open.opened, root, allow: new Set(allow) };
}

const NAMESPACE_URN =
  "urn:pulumi:staging-000::enclii-tenants::enclii:tenants:TenantShard$kubernetes:core/v1:Namespace::tenants-acme-namespace";

/** The engine targets of a change to `tenant` in staging-000, written out: its six objects, the hostnames, the shard's Probe. */
const targetsOf = (tenant: string, hostnames: string[]) =>
  [
    ...["namespace", "quota", "limits", "policy", "route-service", "ingress"].map((o) => `tenants-${tenant}-${o}`),
    ...hostnames.map((h) => `tenants-${h}`),
    "tenants-probe",
  ].map((name) => `urn:pulumi:staging-000::enclii-tenants::**::${name}`);

/** What each preview and update of `stack` was scoped to. */
const scopes = (stack: FakeStack) =>
  ["preview", "up"].flatMap((m) =>
    stack.callsOf(m).map((c) => {
      const { target, targetDependents } = c.args[0] as { target?: string[]; targetDependents?: boolean };
      return { method: m, target, targetDependents };
    }),
  );

describe("domains add", () => {
  it("adds a new tenant to the first shard, updates only that shard and returns the customer's records", async () => {
    const shard = new FakeStack("staging-000", {
      preview: [{ events: "shard-add.preview.jsonl" }],
      up: [{ events: "shard-add.up.jsonl" }],
    });
    shard.outputMap = {
      hostnames: {
        value: { "shop.acme.example": status("acme", "shop.acme.example"), "x.other.example": status("other", "x.other.example") },
        secret: false,
      },
    };
    const o = options([shard]);
    const res = await domainsAdd(o, loadEnvironment(root, "staging"), {
      tenant: "acme",
      hostname: "shop.acme.example",
      service: "storefront:8080",
    });
    expect(res).toMatchObject({ status: "ok", exitCode: EXIT.ok, stack: "staging-000", changedFiles: ["tenants/Pulumi.staging-000.yaml"] });
    // The stack has been updated before (it has `hostnames`): only the tenant's resources are.
    const scoped = { target: targetsOf("acme", ["shop.acme.example"]), targetDependents: true };
    expect(scopes(shard)).toEqual([
      { method: "preview", ...scoped },
      { method: "up", ...scoped },
    ]);
    // One shard, opened once (and created if new): its update and its records come from that stack.
    expect(o.opened).toEqual([{ project: "tenants", stack: "staging-000", create: true }]);
    expect(tenantsOf("staging-000")).toEqual([
      { name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } },
    ]);
    expect(res.domains?.hostnames).toEqual([
      {
        hostname: "shop.acme.example",
        tenant: "acme",
        status: "pending",
        sslStatus: "pending_validation",
        records: [
          { type: "CNAME", name: "shop.acme.example", value: "proxy.enclii.dev", purpose: "traffic" },
          { type: "TXT", name: "_cf-custom-hostname.shop.acme.example", value: "5cc07c04", purpose: "ownership" },
          { type: "TXT", name: "_acme-challenge.shop.acme.example", value: "ca3-5749", purpose: "certificate" },
        ],
      },
    ]);
  });

  it("puts a new tenant in the next shard when the first is full, keeping the full one's file as it was", async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({
      name: `t${i}`,
      hostnames: [`t${i}.example.com`],
      service: { name: "web", port: 80 },
    }));
    writeShard("staging-000", full);
    const before = readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8");
    const next = new FakeStack("staging-001", { preview: [{ events: "shard-add.preview.jsonl" }], up: [{}] });
    const res = await domainsAdd(options([next]), loadEnvironment(root, "staging"), {
      tenant: "acme",
      hostname: "shop.acme.example",
      service: "storefront:8080",
    });
    expect(res.stack).toBe("staging-001");
    expect(tenantsOf("staging-001")).toHaveLength(1);
    // A shard never updated (no `hostnames` output) is updated whole: its component is not in the state yet.
    expect(scopes(next)).toEqual([
      { method: "preview", target: undefined, targetDependents: undefined },
      { method: "up", target: undefined, targetDependents: undefined },
    ]);
    expect(readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8")).toBe(before);
  });

  it("adds a hostname to an existing tenant in its own shard, keeping the file's comments", async () => {
    writeShard("staging-000", [{ name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } }]);
    const shard = new FakeStack("staging-000", { preview: [{ events: "no-change.preview.jsonl" }], up: [{}] });
    const res = await domainsAdd(options([shard]), loadEnvironment(root, "staging"), { tenant: "acme", hostname: "www.acme.example" });
    expect(res.exitCode).toBe(EXIT.ok);
    expect(tenantsOf("staging-000")[0].hostnames).toEqual(["shop.acme.example", "www.acme.example"]);
    expect(readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8")).toMatch(/^# staging-000, kept by hand/);
  });

  it("scopes the preview and the update alike to the tenant's resources: the hostnames it had and has, never another tenant's", async () => {
    writeShard("staging-000", [
      { name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } },
      { name: "acme-eu", hostnames: ["eu.acme.example"], service: { name: "storefront", port: 8080 } },
    ]);
    const shard = new FakeStack("staging-000", {
      preview: [{ events: "shard-add.preview.jsonl" }],
      up: [{ events: "shard-add.up.jsonl" }],
    });
    // The stack also holds a hostname the file no longer has (a removal whose update failed): it is the tenant's too.
    shard.outputMap = {
      hostnames: {
        value: {
          "shop.acme.example": status("acme", "shop.acme.example"),
          "old.acme.example": status("acme", "old.acme.example"),
          "eu.acme.example": status("acme-eu", "eu.acme.example"),
        },
        secret: false,
      },
    };
    const res = await domainsAdd(options([shard]), loadEnvironment(root, "staging"), { tenant: "acme", hostname: "www.acme.example" });
    expect(res.exitCode, res.message).toBe(EXIT.ok);
    const scoped = { target: targetsOf("acme", ["old.acme.example", "shop.acme.example", "www.acme.example"]), targetDependents: true };
    expect(scopes(shard)).toEqual([
      { method: "preview", ...scoped },
      { method: "up", ...scoped },
    ]);
  });

  it("of a hostname the tenant already has: unchanged, its records from the stack, the file byte for byte, no engine command", async () => {
    writeShard("staging-000", [{ name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } }]);
    const file = join(root, "tenants", "Pulumi.staging-000.yaml");
    const before = readFileSync(file);
    const shard = new FakeStack("staging-000");
    shard.outputMap = { hostnames: { value: { "shop.acme.example": status("acme", "shop.acme.example") }, secret: false } };
    const o = options([shard]);
    const res = await domainsAdd(o, loadEnvironment(root, "staging"), {
      tenant: "acme",
      hostname: "shop.acme.example",
      service: "storefront:8080",
    });
    expect(res).toMatchObject({ status: "unchanged", exitCode: EXIT.ok, stack: "staging-000" });
    expect(res.changedFiles).toBeUndefined();
    expect(res.message).toBe(
      "acme (staging-000) already has shop.acme.example; nothing changed (status as of the shard's last update); the customer adds these records\n" +
        "shop.acme.example: pending, certificate pending_validation\n" +
        "  CNAME shop.acme.example → proxy.enclii.dev (traffic)\n" +
        "  TXT _cf-custom-hostname.shop.acme.example → 5cc07c04 (ownership)\n" +
        "  TXT _acme-challenge.shop.acme.example → ca3-5749 (certificate)",
    );
    expect(res.domains?.hostnames.map((h) => h.records.length)).toEqual([3]);
    expect(readFileSync(file).equals(before)).toBe(true);
    // The stack is opened (not created) and only its outputs read: no preview, no update.
    expect(o.opened).toEqual([{ project: "tenants", stack: "staging-000" }]);
    expect(shard.calls.map((c) => c.method)).toEqual(["outputs"]);
  });

  it("of a hostname in the file but not in the stack (an update that failed): updates the shard, the file untouched", async () => {
    writeShard("staging-000", [{ name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } }]);
    const file = join(root, "tenants", "Pulumi.staging-000.yaml");
    const before = readFileSync(file);
    const shard = new FakeStack("staging-000", {
      preview: [{ events: "shard-add.preview.jsonl" }],
      up: [{ events: "shard-add.up.jsonl" }],
    });
    // The shard has been updated (another tenant's hostname is there), but not with this one.
    shard.outputMap = { hostnames: { value: { "x.other.example": status("other", "x.other.example") }, secret: false } };
    const res = await domainsAdd(options([shard]), loadEnvironment(root, "staging"), { tenant: "acme", hostname: "shop.acme.example" });
    expect(res).toMatchObject({ status: "ok", exitCode: EXIT.ok });
    expect(scopes(shard).map((s) => s.target)).toEqual([
      targetsOf("acme", ["shop.acme.example"]),
      targetsOf("acme", ["shop.acme.example"]),
    ]);
    expect(res.message).toMatch(
      /^acme \(staging-000\): shop\.acme\.example was in tenants\/Pulumi\.staging-000\.yaml but not in the stack; updated;/,
    );
    expect(res.changedFiles).toBeUndefined();
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(shard.calls.map((c) => c.method)).toEqual(["outputs", "preview", "up", "outputs"]);
    expect(shard.callsOf("up")[0].args[0]).toMatchObject({ message: "enclii domains add acme shop.acme.example" });
  });

  it("of a hostname another tenant holds, in another shard: a usage error naming both, nothing opened or written", async () => {
    writeShard("staging-000", [{ name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } }]);
    writeShard("staging-001", [{ name: "beta", hostnames: ["www.beta.example"], service: { name: "web", port: 80 } }]);
    const files = ["staging-000", "staging-001"].map((s) => join(root, "tenants", `Pulumi.${s}.yaml`));
    const before = files.map((f) => readFileSync(f));
    const o = options([]);
    const res = await domainsAdd(o, loadEnvironment(root, "staging"), { tenant: "acme", hostname: "www.beta.example" });
    expect(res.exitCode).toBe(EXIT.usage);
    expect(res.message).toContain("--hostname: www.beta.example belongs to tenant beta (staging-001)");
    expect(o.opened).toEqual([]);
    expect(files.map((f) => readFileSync(f).equals(before[files.indexOf(f)]))).toEqual([true, true]);
  });

  it("refuses bad input before touching any file or stack, naming the file and field", async () => {
    writeShard("staging-000", [{ name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } }]);
    const before = readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8");
    const o = options([]);
    const env = loadEnvironment(root, "staging");
    const cases = [
      [{ tenant: "new", hostname: "a.new.example" }, "--service: new is a new tenant; name the Service its hostnames route to (name:port)"],
      [
        { tenant: "acme", hostname: "b.acme.example", service: "other:80" },
        "--service: acme routes to storefront:8080; domains add does not change a tenant's Service",
      ],
      [{ tenant: "new", hostname: "a.new.example", service: "web" }, '--service: "web" must be name:port, such as storefront:8080'],
      [
        { tenant: "new", hostname: "a.new.example", service: "web:80:1" },
        '--service: "web:80:1" must be name:port, such as storefront:8080',
      ],
      ...["0", "65536", "08080", "-1", "1.5", "http"].map(
        (port) =>
          [
            { tenant: "new", hostname: "a.new.example", service: `web:${port}` },
            `--service: the port "${port}" must be a whole number from 1 to 65535`,
          ] as const,
      ),
      [
        { tenant: "new", hostname: "a.new.example", service: "1web:80" },
        '--service: "1web" must be a Service name: a DNS-1035 label (a letter first)',
      ],
      [
        { tenant: "new", hostname: "shop.acme.example", service: "web:80" },
        "--hostname: shop.acme.example belongs to tenant acme (staging-000)",
      ],
      [
        { tenant: "new", hostname: "api.enclii.dev", service: "web:80" },
        "tenants/Pulumi.staging-000.yaml: api.enclii.dev: tenant hostname must not be under our zone enclii.dev",
      ],
      [
        { tenant: "Bad_Name", hostname: "a.example.com", service: "web:80" },
        "tenants/Pulumi.staging-000.yaml: enclii-tenants:tenants[1].name: must be a DNS label",
      ],
    ] as const;
    for (const [request, message] of cases) {
      const res = await domainsAdd(o, env, request);
      expect(res.exitCode, JSON.stringify(request)).toBe(EXIT.usage);
      expect(res.message).toContain(message);
    }
    expect(o.opened).toEqual([]);
    expect(readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8")).toBe(before);
  });
});

describe("domains remove, list and status", () => {
  beforeEach(() =>
    writeShard("staging-000", [
      { name: "acme", hostnames: ["shop.acme.example"], service: { name: "storefront", port: 8080 } },
      { name: "beta", hostnames: ["beta.example.org", "www.beta.example.org"], service: { name: "web", port: 80 } },
    ]),
  );

  /** The shard as its last update left it: both tenants' hostnames. */
  const updated = (shard: FakeStack) => {
    const hostnames = { "shop.acme.example": "acme", "beta.example.org": "beta", "www.beta.example.org": "beta" };
    shard.outputMap = {
      hostnames: { value: Object.fromEntries(Object.entries(hostnames).map(([h, t]) => [h, status(t, h)])), secret: false },
    };
    return shard;
  };

  it("removing a tenant's last hostname is refused for its namespace, from the tenant's own preview, and the file is put back", async () => {
    const before = readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8");
    const shard = updated(new FakeStack("staging-000", { preview: [{ events: "shard-remove-last.preview.jsonl" }], up: [{}] }));
    const res = await domainsRemove(options([shard]), loadEnvironment(root, "staging"), { tenant: "acme", hostname: "shop.acme.example" });
    expect(res.exitCode).toBe(EXIT.refused);
    expect(scopes(shard)).toEqual([{ method: "preview", target: targetsOf("acme", ["shop.acme.example"]), targetDependents: true }]);
    // The hostname being removed is what the request asks for; the namespace is not.
    expect(res.violations?.map((v) => v.urn)).toEqual([NAMESPACE_URN]);
    expect(shard.callsOf("up")).toEqual([]);
    expect(readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8")).toBe(before);
  });

  it("with the namespace allowed, the tenant goes", async () => {
    const shard = new FakeStack("staging-000", { preview: [{ events: "shard-remove-last.preview.jsonl" }], up: [{}] });
    const res = await domainsRemove(options([shard], [NAMESPACE_URN]), loadEnvironment(root, "staging"), {
      tenant: "acme",
      hostname: "shop.acme.example",
    });
    expect(res.exitCode).toBe(EXIT.ok);
    expect(tenantsOf("staging-000").map((t: { name: string }) => t.name)).toEqual(["beta"]);
  });

  it("lists tenants without a Pulumi CLI, and refuses an unknown tenant", async () => {
    const o = options([]);
    const res = domainsList(o, loadEnvironment(root, "staging"));
    expect(res.domains?.tenants).toEqual([
      { name: "acme", shard: "staging-000", hostnames: ["shop.acme.example"], service: "storefront:8080" },
      { name: "beta", shard: "staging-000", hostnames: ["beta.example.org", "www.beta.example.org"], service: "web:80" },
    ]);
    const missing = await domainsStatus(o, loadEnvironment(root, "staging"), { tenant: "gamma" });
    expect(missing).toMatchObject({ exitCode: EXIT.usage, message: 'staging (stack staging): --tenant: staging has no tenant "gamma"' });
    expect(existsSync(join(root, "tenants", "Pulumi.staging-001.yaml"))).toBe(false);
  });

  it("status refreshes the tenant's resources and reports each of its hostnames", async () => {
    const shard = new FakeStack("staging-000", { preview: [{ events: "no-change.preview.jsonl" }], up: [{}] });
    shard.outputMap = {
      hostnames: {
        value: { "beta.example.org": { ...status("beta", "beta.example.org"), status: "active", sslStatus: "active", sslValidation: [] } },
        secret: false,
      },
    };
    const res = await domainsStatus(options([shard]), loadEnvironment(root, "staging"), { tenant: "beta" });
    expect(shard.callsOf("preview")[0].args[0]).toMatchObject({ refresh: true });
    expect(shard.callsOf("up")[0].args[0]).toMatchObject({ refresh: true });
    const scoped = { target: targetsOf("beta", ["beta.example.org", "www.beta.example.org"]), targetDependents: true };
    expect(scopes(shard)).toEqual([
      { method: "preview", ...scoped },
      { method: "up", ...scoped },
    ]);
    expect(res.domains?.hostnames.map((h) => [h.hostname, h.status, h.sslStatus, h.records.length])).toEqual([
      ["beta.example.org", "active", "active", 2],
    ]);
  });
});
