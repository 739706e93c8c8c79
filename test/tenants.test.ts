/**
 * Tenant shards: what a shard registers (and that it never touches the platform stack), the merged
 * NetworkPolicy against the two it replaced, and the planner at 1000 tenants.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type * as cloudflareNs from "@pulumi/cloudflare";
import type * as k8sNs from "@pulumi/kubernetes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_RUN_TOKEN, fakeUuid } from "../automation/mocks";
import { planCommand } from "../automation/planCommand";
import { DNS_EGRESS, FROM_CLOUDFLARED } from "../components/baseline";
import { tenantPolicySpec } from "../components/tenants/tenantObjects";
import type { Tenant } from "../model/routes";
import { SHARD_TOKEN_ENV, TENANTS_PER_SHARD } from "../model/config/tenants";
import {
  hostnameResourceName,
  probeResourceName,
  SHARD_RESOURCE,
  TENANT_OBJECTS,
  tenantObjectName,
  tenantTargets,
} from "../model/tenantResources";
import { makeTenants, placeAll, stagingForTenants, writeShardFiles } from "../testbed/tenantShards";
import { find, one, recordResources, resolve, settled, validateObject, type Registered } from "./harness";

const ZONE_ID = "fedcba9876543210fedcba9876543210";
const PROBER = "prometheus-blackbox-exporter.monitoring.svc:9115";
const tenants: Tenant[] = [
  { name: "acme", hostnames: ["www.acme.com", "app.acme.com"], service: { name: "web", port: 8080 } },
  { name: "globex", hostnames: ["globex.example"], service: { name: "site", port: 3000 } },
];

describe("TenantShard", () => {
  let all: Registered[];
  let shard: InstanceType<typeof import("../components/tenants/TenantShard").TenantShard>;
  let TenantShard: typeof import("../components/tenants/TenantShard").TenantShard;
  let cf: cloudflareNs.Provider;
  let kube: k8sNs.Provider;
  beforeAll(async () => {
    all = await recordResources();
    const cloudflare = await import("@pulumi/cloudflare");
    const k8s = await import("@pulumi/kubernetes");
    ({ TenantShard } = await import("../components/tenants/TenantShard"));
    cf = new cloudflare.Provider("cf", { apiToken: "t" });
    kube = new k8s.Provider("k8s", { kubeconfig: "k" });
    const args = {
      zoneId: ZONE_ID,
      fallbackOrigin: "proxy.enclii.io",
      cloudflareProvider: cf,
      k8sProvider: kube,
      shard: "production-000",
    };
    shard = new TenantShard("shard", { ...args, tenants });
    new TenantShard("empty", { ...args, tenants: [] });
    new TenantShard("probed", { ...args, tenants, prober: PROBER });
    new TenantShard("vacant", { ...args, tenants: [], prober: PROBER });
    await settled();
  });

  it("registers six objects per tenant and a custom hostname per hostname, straight under the shard", () => {
    const mine = all.filter((r) => r.name.startsWith("shard-"));
    expect(mine.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "cloudflare:index/customHostname:CustomHostname shard-app.acme.com",
        "cloudflare:index/customHostname:CustomHostname shard-globex.example",
        "cloudflare:index/customHostname:CustomHostname shard-www.acme.com",
        ...["acme", "globex"].flatMap((t) => [
          `kubernetes:core/v1:Namespace shard-${t}-namespace`,
          `kubernetes:core/v1:ResourceQuota shard-${t}-quota`,
          `kubernetes:core/v1:LimitRange shard-${t}-limits`,
          `kubernetes:networking.k8s.io/v1:NetworkPolicy shard-${t}-policy`,
          `kubernetes:networking.k8s.io/v1:Ingress shard-${t}-ingress`,
          `kubernetes:core/v1:Service shard-${t}-route-service`,
        ]),
      ].sort(),
    );
  });

  it("gives a tenant a restricted, labelled namespace with quota and default limits", () => {
    expect(one(all, "kubernetes:core/v1:Namespace", "shard-acme-namespace").inputs.metadata).toEqual({
      name: "tenant-acme",
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "enclii.io/tenant": "acme",
      },
    });
    expect(one(all, "kubernetes:core/v1:ResourceQuota", "shard-acme-quota").inputs.spec.hard).toMatchObject({
      pods: "20",
      "services.loadbalancers": "0",
      "services.nodeports": "0",
    });
    expect(one(all, "kubernetes:core/v1:LimitRange", "shard-acme-limits").inputs.spec.limits[0]).toMatchObject({
      type: "Container",
      defaultRequest: { cpu: "100m", memory: "128Mi" },
    });
  });

  it("admits the tenant router (only) to the tenant's port, and lets DNS out", () => {
    expect(one(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "shard-acme-policy").inputs.spec).toEqual({
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "enclii-tenant-router" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "tenant-router" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 8080 }],
        },
      ],
      egress: [DNS_EGRESS],
    });
  });

  it("routes each hostname, every path, in the router's namespace, through an ExternalName into the tenant's namespace", () => {
    const ingress = one(all, "kubernetes:networking.k8s.io/v1:Ingress", "shard-acme-ingress").inputs;
    // No class: the router takes every Ingress of its namespace, and reads no IngressClass.
    expect(ingress.metadata).toEqual({ name: "tenant-acme", namespace: "enclii-tenant-router", labels: { "enclii.io/tenant": "acme" } });
    const backend = { service: { name: "tenant-acme", port: { number: 8080 } } };
    expect(ingress.spec).toEqual({
      rules: ["app.acme.com", "www.acme.com"].map((host) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } })),
    });
    const target = one(all, "kubernetes:core/v1:Service", "shard-acme-route-service").inputs;
    expect(target.metadata).toEqual({ name: "tenant-acme", namespace: "enclii-tenant-router", labels: { "enclii.io/tenant": "acme" } });
    expect(target.spec).toEqual({
      type: "ExternalName",
      externalName: "web.tenant-acme.svc.cluster.local",
      ports: [{ name: "web", port: 8080 }],
    });
    // Nothing of the route is in the tenant's namespace, which the router does not read.
    expect(find(all, "kubernetes:networking.k8s.io/v1:Ingress").filter((r) => r.inputs.metadata.namespace === "tenant-acme")).toEqual([]);
  });

  it("asks for a DV certificate per hostname, validated by TXT, TLS 1.2 minimum and TLS 1.3 on", () => {
    for (const h of find(all, "cloudflare:index/customHostname:CustomHostname").filter((r) => r.name.startsWith("shard-")))
      expect(h.inputs).toEqual({
        zoneId: ZONE_ID,
        hostname: h.name.slice("shard-".length),
        ssl: { method: "txt", type: "dv", settings: { minTlsVersion: "1.2", tls13: "on" } },
      });
  });

  it("outputs, per hostname, its status and the records the customer must add", async () => {
    const out = await resolve(shard.hostnames);
    expect(Object.keys(out)).toEqual(["app.acme.com", "globex.example", "www.acme.com"]);
    expect(out["app.acme.com"]).toEqual({
      tenant: "acme",
      status: "pending",
      sslStatus: "pending_validation",
      cnameTarget: "proxy.enclii.io",
      ownershipVerification: { type: "TXT", name: "_cf-custom-hostname.app.acme.com", value: fakeUuid("ownership:app.acme.com") },
      sslValidation: [{ type: "TXT", name: "_acme-challenge.app.acme.com", value: expect.any(String) }],
    });
  });

  it("registers nothing for an empty shard", () => {
    expect(all.filter((r) => r.name.startsWith("empty-") || r.name.startsWith("vacant-"))).toEqual([]);
  });

  it("probes every hostname of the shard with one TLS Probe when the platform runs observability, and none without", () => {
    const probes = all.filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:Probe");
    expect(probes.map((p) => p.name)).toEqual(["probed-probe"]);
    expect(probes[0].inputs).toMatchObject({
      metadata: { name: "custom-hostnames-production-000", namespace: "monitoring" },
      spec: {
        jobName: "custom-hostnames",
        module: "tls_connect",
        prober: { url: PROBER },
        targets: {
          staticConfig: { static: ["app.acme.com:443", "globex.example:443", "www.acme.com:443"], labels: { shard: "production-000" } },
        },
      },
    });
    // The probe is the only thing a prober adds: the tenants' own objects are the same.
    const names = (prefix: string) =>
      all.filter((r) => r.name.startsWith(`${prefix}-`) && !r.name.endsWith("-probe")).map((r) => r.name.slice(prefix.length));
    expect(names("probed")).toEqual(names("shard"));
  });

  it(`refuses more than ${TENANTS_PER_SHARD} tenants before registering anything`, () => {
    const args = {
      zoneId: ZONE_ID,
      fallbackOrigin: "p",
      cloudflareProvider: cf,
      k8sProvider: kube,
      shard: "production-000",
    };
    expect(() => new TenantShard("big", { ...args, tenants: makeTenants(TENANTS_PER_SHARD + 1) })).toThrow(
      `big: ${TENANTS_PER_SHARD + 1} tenants: a shard holds at most ${TENANTS_PER_SHARD}`,
    );
    expect(all.filter((r) => r.name.startsWith("big"))).toEqual([]);
  });

  it("registers only objects the Kubernetes schema accepts", async () => {
    const objects = all.filter((r) => r.type.startsWith("kubernetes:") && typeof r.inputs.kind === "string");
    expect(new Set(objects.map((o) => o.inputs.kind))).toEqual(
      new Set(["Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "Ingress", "Service", "Probe"]),
    );
    for (const o of objects)
      await expect(validateObject(o.inputs as { apiVersion: string; kind: string }), o.name).resolves.toBeUndefined();
  });
});

/**
 * NetworkPolicy semantics, enough to compare policy sets: a pod is isolated for a direction when
 * some policy selects it with that type, and then a connection passes if some rule admits it.
 */
type Labels = Record<string, string>;
interface Pod {
  namespace: string;
  labels: Labels;
}
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string }[];
}
interface Peer {
  namespaceSelector?: Selector;
  podSelector?: Selector;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol?: string; port?: number }[];
}
interface Spec {
  podSelector: Selector;
  policyTypes: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

const nsLabels = (ns: string): Labels => ({
  "kubernetes.io/metadata.name": ns,
  ...(ns.startsWith("tenant-") ? { "enclii.io/tenant": ns } : {}),
});
function selects(s: Selector | undefined, labels: Labels): boolean {
  if (!s) return true;
  const byLabels = Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (s.matchExpressions ?? []).every((e) => (e.operator === "Exists" ? e.key in labels : false));
  return byLabels && byExpr;
}
function peerMatches(p: Peer, pod: Pod, sameNamespace: string): boolean {
  if (!p.namespaceSelector && pod.namespace !== sameNamespace) return false;
  return selects(p.namespaceSelector, nsLabels(pod.namespace)) && selects(p.podSelector, pod.labels);
}
function allowed(policies: Spec[], direction: "Ingress" | "Egress", self: Pod, other: Pod, port: number, protocol: string): boolean {
  const applying = policies.filter((p) => selects(p.podSelector, self.labels) && p.policyTypes.includes(direction));
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (direction === "Ingress" ? p.ingress : p.egress)?.some((r) => {
      const peers = direction === "Ingress" ? r.from : r.to;
      const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, other, self.namespace));
      const portOk =
        !r.ports ||
        r.ports.length === 0 ||
        r.ports.some((x) => (x.protocol ?? "TCP") === protocol && (x.port === undefined || x.port === port));
      return peerOk && portOk;
    }),
  );
}

describe("one NetworkPolicy per tenant is the old default-deny plus allow pair", () => {
  const tenant = tenants[0];
  const from = FROM_CLOUDFLARED as Peer;
  // What TenantNamespace registered before this change, for the same peer.
  const before: Spec[] = [
    { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [from], ports: [{ protocol: "TCP", port: 8080 }] }],
      egress: [DNS_EGRESS as Rule],
    },
  ];
  const after: Spec[] = [tenantPolicySpec(tenant, FROM_CLOUDFLARED) as Spec];
  const self: Pod = { namespace: "tenant-acme", labels: { app: "web" } };
  const others: Pod[] = [
    { namespace: "cloudflared", labels: { "app.kubernetes.io/name": "cloudflared" } },
    { namespace: "cloudflared", labels: { "app.kubernetes.io/name": "other" } },
    { namespace: "enclii-tenant-router", labels: { "app.kubernetes.io/name": "tenant-router" } },
    { namespace: "tenant-acme", labels: { app: "worker" } },
    { namespace: "tenant-globex", labels: { app: "web" } },
    { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
    { namespace: "kube-system", labels: { "k8s-app": "metrics-server" } },
    { namespace: "enclii-data", labels: { "app.kubernetes.io/name": "redis" } },
  ];
  const probes = others.flatMap((other) =>
    [53, 443, 3000, 5432, 8080].flatMap((port) =>
      ["TCP", "UDP"].flatMap((protocol) => (["Ingress", "Egress"] as const).map((direction) => ({ other, port, protocol, direction }))),
    ),
  );

  it(`admits and refuses exactly the same connections (${probes.length} probes)`, () => {
    const differ = probes.filter(
      (p) =>
        allowed(before, p.direction, self, p.other, p.port, p.protocol) !== allowed(after, p.direction, self, p.other, p.port, p.protocol),
    );
    expect(differ).toEqual([]);
    // The probes are not vacuous: both sets admit some connections and refuse most.
    const admitted = probes.filter((p) => allowed(after, p.direction, self, p.other, p.port, p.protocol));
    expect(
      admitted.map((p) => `${p.direction} ${p.other.namespace}/${Object.values(p.other.labels)[0]} ${p.protocol}/${p.port}`).sort(),
    ).toEqual(["Egress kube-system/kube-dns TCP/53", "Egress kube-system/kube-dns UDP/53", "Ingress cloudflared/cloudflared TCP/8080"]);
  });

  it("tells policy sets apart: default-deny alone refuses what the merged policy admits", () => {
    const onlyDeny = [before[0]];
    expect(
      probes.some(
        (p) =>
          allowed(onlyDeny, p.direction, self, p.other, p.port, p.protocol) !==
          allowed(after, p.direction, self, p.other, p.port, p.protocol),
      ),
    ).toBe(true);
  });
});

/**
 * An engine target as the engine reads it: `**` any text, `*` any but `:`, the rest literal
 * (pulumi/pkg resource/deploy/deployment.go `UrnTargets.getMatcher`).
 */
function engineTarget(glob: string): RegExp {
  const quote = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^${glob
      .split("**")
      .map((segment) => segment.split("*").map(quote).join("[^:]*"))
      .join(".*")}$`,
  );
}

describe("the shard program as Pulumi runs it (tenants/index.ts)", () => {
  const shardPlan = async (platformStack: string, file: string, shardTenants: Tenant[] = tenants) => {
    const raw = { "enclii-tenants:tenants": JSON.stringify(shardTenants) };
    const { runPlan } = await import("../automation/plan");
    const { loadStackConfig } = await import("../automation/stackFile");
    const entry = (await import("../tenants/index")).default as unknown as () => Promise<Record<string, unknown>>;
    const platform = await runPlan(platformStack, loadStackConfig(file));
    return runPlan("staging-000", { config: raw, secretKeys: [] }, entry, {
      project: "enclii-tenants",
      stackOutputs: { [`organization/enclii-infra/${platformStack === "production" ? "staging" : platformStack}`]: platform.outputs },
    });
  };
  // As enclii-infra runs a shard: its token, minted for the run, in the environment.
  beforeAll(() => {
    process.env[SHARD_TOKEN_ENV] = FAKE_RUN_TOKEN;
  });
  afterAll(() => {
    delete process.env[SHARD_TOKEN_ENV];
  });

  it("refuses to run without a token of its own, saying how to mint one", async () => {
    delete process.env[SHARD_TOKEN_ENV];
    try {
      await expect(shardPlan("staging", "Pulumi.staging.yaml")).rejects.toThrow(
        "ENCLII_TENANTS_TOKEN is not set: a shard runs with a short-lived token of kube-system/enclii-tenants; mint one with `npx enclii-infra kube-token --env staging` (docs/tenants.md#the-shards-account)",
      );
    } finally {
      process.env[SHARD_TOKEN_ENV] = FAKE_RUN_TOKEN;
    }
  });

  it("builds its kubeconfig from the platform's API server and its own token, for its own account", async () => {
    const plan = await shardPlan("staging", "Pulumi.staging.yaml");
    const provider = plan.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
    // A secret: the token is in it.
    expect(provider.inputs.kubeconfig).toBe("[secret]");
    // Named by the platform stack, so a new API address (a rebuilt first server) does not replace the shard's objects.
    expect(provider.inputs.clusterIdentifier).toBe("organization/enclii-infra/staging");
  });

  it("parses its own config, reads the platform by stack reference and plans its tenants", async () => {
    const plan = await shardPlan("staging", "Pulumi.staging.yaml");
    expect(plan.outputs).toMatchObject({ platform: "organization/enclii-infra/staging", tenants: 2 });
    expect(plan.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata)).toEqual([
      expect.objectContaining({ name: "tenant-acme" }),
      expect.objectContaining({ name: "tenant-globex" }),
    ]);
    // The zone id is the platform's, read through the reference.
    const hostname = plan.resources.find((r) => r.type === "cloudflare:index/customHostname:CustomHostname")!;
    expect(hostname.inputs.zoneId).toBe("00112233445566778899aabbccddeeff");
  });

  it("names every resource as model/tenantResources.ts says, so a tenant's targets are exactly its own", async () => {
    // `acme` is a prefix of `acme-eu`: neither's targets may reach the other's resources.
    const eu: Tenant = { name: "acme-eu", hostnames: ["eu.acme.com"], service: { name: "web", port: 8080 } };
    const all = [...tenants, eu];
    const plan = await shardPlan("staging", "Pulumi.staging.yaml", all);
    const own = (t: Tenant) => [
      ...TENANT_OBJECTS.map((o) => tenantObjectName(SHARD_RESOURCE, t.name, o)),
      ...t.hostnames.map((h) => hostnameResourceName(SHARD_RESOURCE, h)),
    ];
    const shardWide = ["pulumi:pulumi:Stack", "enclii:tenants:TenantShard", "pulumi:providers:kubernetes", "pulumi:providers:cloudflare"];
    const named = plan.resources.filter((r) => !shardWide.includes(r.type));
    // Staging runs observability, so the shard has its Probe.
    expect(named.map((r) => r.name).sort()).toEqual([...all.flatMap(own), probeResourceName(SHARD_RESOURCE)].sort());
    for (const t of all) {
      const targets = tenantTargets("staging-000", { tenant: t.name, hostnames: t.hostnames }).map(engineTarget);
      const matched = plan.resources.filter((r) => targets.some((re) => re.test(r.urn))).map((r) => r.name);
      expect(matched.sort(), t.name).toEqual([...own(t), probeResourceName(SHARD_RESOURCE)].sort());
    }
  });

  it("refuses to plan against a platform without custom hostnames, saying what to change", async () => {
    // Production's outputs (custom hostnames off) stand in for a staging platform that has them off.
    await expect(shardPlan("production", "Pulumi.production.yaml")).rejects.toThrow(
      "organization/enclii-infra/staging: has no customHostnames output; set enclii:customHostnames: true on the platform stack and pulumi up it first",
    );
  });
});

describe("the planner with 1000 tenants on staging", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-tenants-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const tenantsDir = join(tmp, "tenants");
  // 1000 tenants' hostnames cost $90 a month past the free 100: over staging's $50 budget, which
  // the plan refuses (docs/capacity-and-cost.md). This environment budgets for them.
  const config = stagingForTenants(tmp);
  const run = async (out: string) => {
    let stdout = "";
    let stderr = "";
    const code = await planCommand(["staging", "--config", config, "--tenants", tenantsDir, "--out", out], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr };
  };
  const tree = (dir: string, skip?: string): Map<string, { digest: string; mtimeMs: number }> => {
    const out = new Map<string, { digest: string; mtimeMs: number }>();
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (skip && relative(dir, p) === skip) continue;
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else out.set(relative(dir, p), { digest: createHash("sha256").update(readFileSync(p)).digest("hex"), mtimeMs: st.mtimeMs });
      }
    };
    walk(dir);
    return out;
  };
  const digests = (m: Map<string, { digest: string }>) => new Map([...m].map(([k, v]) => [k, v.digest]));
  let none: Awaited<ReturnType<typeof run>>;
  let many: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    // `--tenants` must name a directory that exists (planCommand.ts pathProblems).
    mkdirSync(tenantsDir, { recursive: true });
    none = await run(join(tmp, "none"));
    writeShardFiles(tenantsDir, placeAll("staging", makeTenants(1000)));
    many = await run(join(tmp, "many"));
  });

  it("leaves the platform stack's plan byte-identical", () => {
    expect(none.code, none.stderr).toBe(0);
    expect(many.code, many.stderr).toBe(0);
    const platform = digests(tree(join(tmp, "many"), "tenants"));
    expect(platform.size).toBeGreaterThan(50);
    expect(platform).toEqual(digests(tree(join(tmp, "none"))));
  });

  it("writes ten shard plans of 100 tenants, seven resources per one-hostname tenant", () => {
    // Beside the shards' plans, the digests that say which are current (docs/plan.md#which-shards-are-planned-again).
    const [inputs, ...shards] = readdirSync(join(tmp, "many", "tenants")).sort();
    expect([inputs, ...shards]).toEqual(["inputs.json", ...Array.from({ length: 10 }, (_, i) => `staging-00${i}`)]);
    for (const s of shards) {
      const plan = JSON.parse(readFileSync(join(tmp, "many", "tenants", s, "resources.json"), "utf8"));
      // Stack, shard component, two providers, the shard's one Probe (staging runs observability);
      // then per tenant 6 objects (the route's two in the router's namespace) + 1 custom hostname.
      expect(plan.resources, s).toHaveLength(5 + 100 * 7);
      expect(Object.keys(plan.outputs.hostnames)).toHaveLength(100);
      expect(plan.outputs.platform).toBe("organization/enclii-infra/staging");
      const providers = plan.resources.filter((r: { type: string }) => r.type.startsWith("pulumi:providers:"));
      // Credentials come from the platform stack's outputs, and stay secret.
      expect(providers.map((p: { inputs: Record<string, unknown> }) => p.inputs.kubeconfig ?? p.inputs.apiToken)).toEqual([
        "[secret]",
        "[secret]",
      ]);
    }
    expect(many.stdout).toMatch(/^staging-009: 100 tenants, 705 resources \(planned in \d+ ms\); wrote /m);
  });

  it("plans one shard on its own (with the platform it reads), and names a shard that has no file", async () => {
    let stdout = "";
    let stderr = "";
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t) };
    const out = join(tmp, "one");
    expect(await planCommand(["staging-002", "--tenants", tenantsDir, "--out", out], io), stderr).toBe(0);
    expect(readdirSync(join(out, "tenants")).sort()).toEqual(["inputs.json", "staging-002"]);
    expect(stdout).not.toContain("Offline plan for stack");
    expect(await planCommand(["staging-042", "--tenants", tenantsDir, "--out", out], io)).toBe(2);
    expect(stderr).toContain(`no stack file ${join(tenantsDir, "Pulumi.staging-042.yaml")}`);
  });

  it("changing one tenant rewrites only its shard's files, and a removed shard's plan goes with it", async () => {
    const before = tree(join(tmp, "many"));
    const file = join(tenantsDir, "Pulumi.staging-003.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("app.t0342.example.com", "shop.t0342.example.com"));
    unlinkSync(join(tenantsDir, "Pulumi.staging-009.yaml"));
    const again = await run(join(tmp, "many"));
    expect(again.code, again.stderr).toBe(0);
    const after = tree(join(tmp, "many"));
    const changed = [...after].filter(([k, v]) => before.get(k)?.digest !== v.digest).map(([k]) => k);
    expect(changed.sort()).toEqual([
      "tenants/inputs.json",
      "tenants/staging-003/manifests/enclii-tenant-router/ingress-tenant-t0342.yaml",
      "tenants/staging-003/manifests/monitoring/probe-custom-hostnames-staging-003.yaml",
      "tenants/staging-003/resources.json",
    ]);
    const touched = [...after].filter(([k, v]) => before.get(k)?.mtimeMs !== v.mtimeMs).map(([k]) => k);
    expect(touched.sort()).toEqual(changed.sort());
    expect([...after.keys()].some((k) => k.startsWith("tenants/staging-009/"))).toBe(false);
  });
});
