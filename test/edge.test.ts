import { createHash } from "node:crypto";
import type * as cloudflareNs from "@pulumi/cloudflare";
import type * as k8sNs from "@pulumi/kubernetes";
import { beforeAll, describe, expect, it } from "vitest";
import { fakeTokenValue, fakeTunnelToken, fakeUuid } from "../automation/mocks";
import { CATCH_ALL, tunnelIngress } from "../components/edge/ingress";
import { NEEDS_TOKEN_ANNOTATION } from "../model/baseline";
import { TENANT_ROUTER } from "../model/names";
import { renderProblem } from "../model/problem";
import { tenantRoutes, validateRoutes, type Route, type Tenant } from "../model/routes";
import { find, isSecret, one, recordResources, resolve, settled, validateObject, type Registered } from "./harness";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const ZONE_ID = "fedcba9876543210fedcba9876543210";
const route = (hostname: string, name: string, namespace: string, port: number): Route => ({
  hostname,
  service: { namespace, name, port },
});
const routes = [
  route("enclii.io", "web", "enclii", 3000),
  route("api.enclii.io", "switchyard-api", "enclii", 8080),
  route("auth.enclii.io", "janua", "janua", 8080),
];
const tenants: Tenant[] = [
  { name: "acme", hostnames: ["app.acme.com", "www.acme.com"], service: { name: "web", port: 8080 } },
  { name: "globex", hostnames: ["globex.example"], service: { name: "site", port: 3000 } },
];
const T = {
  tunnel: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
  config: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
  dns: "cloudflare:index/dnsRecord:DnsRecord",
  bucket: "cloudflare:index/r2Bucket:R2Bucket",
  lifecycle: "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle",
  token: "cloudflare:index/accountToken:AccountToken",
  customHostname: "cloudflare:index/customHostname:CustomHostname",
  fallback: "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin",
  namespace: "kubernetes:core/v1:Namespace",
  secret: "kubernetes:core/v1:Secret",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
};
const ROUTER = { namespace: TENANT_ROUTER.namespace, name: TENANT_ROUTER.name, port: TENANT_ROUTER.port };
const under = (all: Registered[], type: string, prefix: string) => find(all, type).filter((r) => r.name.startsWith(`${prefix}-`));

describe("routes", () => {
  it("sorts ingress rules by hostname, points them at cluster DNS names and ends with the catch-all", () => {
    const rules = tunnelIngress([...routes, ...tenantRoutes(tenants)]);
    expect(rules).toEqual([
      { hostname: "api.enclii.io", service: "http://switchyard-api.enclii.svc.cluster.local:8080" },
      { hostname: "app.acme.com", service: "http://web.tenant-acme.svc.cluster.local:8080" },
      { hostname: "auth.enclii.io", service: "http://janua.janua.svc.cluster.local:8080" },
      { hostname: "enclii.io", service: "http://web.enclii.svc.cluster.local:3000" },
      { hostname: "globex.example", service: "http://site.tenant-globex.svc.cluster.local:3000" },
      { hostname: "www.acme.com", service: "http://web.tenant-acme.svc.cluster.local:8080" },
      { service: "http_status:404" },
    ]);
    expect(tunnelIngress([...routes].reverse())).toEqual(tunnelIngress(routes));
    expect(tunnelIngress([])).toEqual([CATCH_ALL]);
  });

  it("accepts our routes in the zone and tenant routes outside it", () => {
    expect(validateRoutes(routes, "enclii.io", tenantRoutes(tenants))).toEqual([]);
  });

  it("reports every problem at its hostname, with a code", () => {
    const bad = [
      route("api.enclii.io", "api", "enclii", 8080),
      route("api.enclii.io", "api2", "enclii", 8080),
      route("api.enclii.io", "api3", "enclii", 8080),
      route("www.example.com", "web", "enclii", 80),
      route("Bad_Host.enclii.io", "web", "enclii", 80),
      route("proxy.enclii.io", "web", "enclii", 80),
      route("x.enclii.io", "1web", "Enclii", 0),
      route("y.enclii.io", "web", "enclii", 70000),
    ];
    const tenant = [route("shop.enclii.io", "web", "tenant-a", 80), route("api.enclii.io", "web", "tenant-b", 80)];
    const problems = validateRoutes(bad, "enclii.io", tenant);
    expect(problems.map(renderProblem)).toEqual([
      "api.enclii.io: hostname is used by more than one route",
      "www.example.com: hostname must be enclii.io or under it",
      "Bad_Host.enclii.io: hostname must be a lowercase fully qualified domain name",
      "proxy.enclii.io: hostname is reserved for the Cloudflare for SaaS fallback origin",
      'x.enclii.io: service namespace "Enclii" must be a DNS-1123 label',
      'x.enclii.io: service name "1web" must be a DNS-1035 label',
      "x.enclii.io: service port 0 must be an integer from 1 to 65535",
      "y.enclii.io: service port 70000 must be an integer from 1 to 65535",
      "shop.enclii.io: tenant hostname must not be under our zone enclii.io",
      "api.enclii.io: tenant hostname must not be under our zone enclii.io",
    ]);
    expect(problems.map((p) => p.code)).toEqual([
      "duplicate-hostname",
      "outside-zone",
      "invalid-hostname",
      "reserved-hostname",
      "invalid-namespace",
      "invalid-service-name",
      "invalid-port",
      "invalid-port",
      "inside-zone",
      "inside-zone",
    ]);
  });

  it("holds ours and tenants' hostnames to IDNA: valid xn-- labels (a top-level one too), no reserved label", () => {
    const ours = [route("xn--bcher-kva.enclii.io", "web", "enclii", 80), route("xn--zz.enclii.io", "web", "enclii", 80)];
    const tenant = [
      route("shop.xn--p1ai", "web", "tenant-a", 80),
      route("ab--c.example", "web", "tenant-a", 80),
      route("xn--wca.example", "web", "tenant-a", 80),
    ];
    expect(validateRoutes(ours, "enclii.io", tenant).map(renderProblem)).toEqual([
      'xn--zz.enclii.io: hostname must be a valid internationalised name: label "xn--zz" is not valid Punycode',
      'ab--c.example: hostname must not use a reserved label: "ab--c" has "--" in its third and fourth characters, which only IDNA\'s xn-- labels may (RFC 5891 §4.2.3.1)',
      'xn--wca.example: hostname must be a valid internationalised name: label "xn--wca" decodes to "Ü", which IDNA writes as xn--tda',
    ]);
  });

  it("maps tenants to routes in their own namespaces", () => {
    expect(tenantRoutes(tenants)[0]).toEqual(route("app.acme.com", "web", "tenant-acme", 8080));
  });
});

let all: Registered[];
let cloudflare: typeof cloudflareNs;
let k8s: typeof k8sNs;
let edge: typeof import("../components/edge/Tunnel") &
  typeof import("../components/edge/R2Storage") &
  typeof import("../components/edge/CustomHostnames") &
  typeof import("../components/edge/TenantRouter");
let cfProvider: cloudflareNs.Provider;
let k8sProvider: k8sNs.Provider;

beforeAll(async () => {
  all = await recordResources();
  cloudflare = await import("@pulumi/cloudflare");
  k8s = await import("@pulumi/kubernetes");
  edge = {
    ...(await import("../components/edge/Tunnel")),
    ...(await import("../components/edge/R2Storage")),
    ...(await import("../components/edge/CustomHostnames")),
    ...(await import("../components/edge/TenantRouter")),
  };
  cfProvider = new cloudflare.Provider("cf", { apiToken: "t" });
  k8sProvider = new k8s.Provider("k8s", { kubeconfig: "k" });
});

const tunnelArgs = (extra: Partial<ConstructorParameters<typeof edge.Tunnel>[1]> = {}) => ({
  ...{
    stack: "staging",
    accountId: ACCOUNT,
    zoneId: ZONE_ID,
    domain: "enclii.io",
    routes,
    fallback: ROUTER,
    replicas: 2,
  },
  ...{ cloudflareProvider: cfProvider, k8sProvider, ...extra },
});

describe("Tunnel", () => {
  let tunnel: InstanceType<typeof edge.Tunnel>;
  beforeAll(async () => {
    tunnel = new edge.Tunnel("edge", tunnelArgs());
    new edge.Tunnel("prod", tunnelArgs({ stack: "production", replicas: 3, fallback: undefined }));
    await settled();
  });

  it("creates a remotely-managed tunnel with a random 32-byte secret", async () => {
    expect(one(all, T.tunnel, "edge-tunnel").inputs).toMatchObject({ accountId: ACCOUNT, name: "enclii-staging", configSrc: "cloudflare" });
    expect(one(all, "random:index/randomBytes:RandomBytes", "edge-secret").inputs).toEqual({ length: 32 });
    expect(await resolve(tunnel.tunnelId)).toBe(fakeUuid("edge-tunnel"));
  });

  it("configures ingress from our routes only, with the tenant router as the catch-all", async () => {
    const config = one(all, T.config, "edge-config").inputs;
    expect(config).toMatchObject({ accountId: ACCOUNT, tunnelId: fakeUuid("edge-tunnel"), source: "cloudflare" });
    expect(config.config.ingresses).toEqual(tunnelIngress(routes, ROUTER));
    expect(config.config.ingresses).toHaveLength(routes.length + 1);
    expect(config.config.ingresses.at(-1)).toEqual({ service: "http://tenant-router.enclii-tenant-router.svc.cluster.local:8000" });
    // Without custom hostnames, anything else is a 404 from cloudflared.
    expect(one(all, T.config, "prod-config").inputs.config.ingresses.at(-1)).toEqual({ service: "http_status:404" });
  });

  it("gives each hostname in our zone a proxied CNAME to the tunnel, and tenants' hostnames none", async () => {
    const records = under(all, T.dns, "edge");
    expect(records.map((r) => r.inputs.name)).toEqual(["api.enclii.io", "auth.enclii.io", "enclii.io"]);
    for (const r of records) {
      expect(r.inputs).toEqual({
        zoneId: ZONE_ID,
        name: r.inputs.name,
        type: "CNAME",
        content: `${fakeUuid("edge-tunnel")}.cfargotunnel.com`,
        proxied: true,
        ttl: 1,
        comment: "enclii-staging tunnel",
      });
    }
    expect(await resolve(tunnel.cnameTarget)).toBe(`${fakeUuid("edge-tunnel")}.cfargotunnel.com`);
    expect(tunnel.hostnames).toEqual(["api.enclii.io", "auth.enclii.io", "enclii.io"]);
  });

  it("runs cloudflared hardened, pinned, probed on /ready and spread across nodes", () => {
    expect(one(all, T.namespace, "edge-namespace").inputs.metadata).toEqual({
      name: "cloudflared",
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    });
    const d = one(all, T.deployment, "edge-deployment").inputs;
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = d.spec.template.spec;
    expect(pod).toMatchObject({
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
    });
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: { "app.kubernetes.io/name": "cloudflared" } },
      },
    ]);
    const [c] = pod.containers;
    expect(c.image).toMatch(/^cloudflare\/cloudflared:20\d\d\.\d+\.\d+$/);
    expect(c.args).toEqual(["tunnel", "--no-autoupdate", "--metrics", "0.0.0.0:2000", "run"]);
    expect(c.env).toEqual([{ name: "TUNNEL_TOKEN", valueFrom: { secretKeyRef: { name: "cloudflared-token", key: "token" } } }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/ready", port: 2000 });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/ready", port: 2000 });
    expect(c.resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(d.spec.template.metadata.annotations).toEqual({ "enclii.io/tunnel-id": fakeUuid("edge-tunnel") });
  });

  it("keeps the token from the tunnel-token function in a Secret (kept secret: see the plan below)", () => {
    const s = one(all, T.secret, "edge-token").inputs;
    expect(s.metadata).toEqual({ name: "cloudflared-token", namespace: "cloudflared" });
    expect(s.stringData).toEqual({ token: fakeTunnelToken(ACCOUNT, fakeUuid("edge-tunnel")) });
  });

  it("has replicas from args and a PDB", () => {
    expect(one(all, T.deployment, "prod-deployment").inputs.spec.replicas).toBe(3);
    for (const n of ["edge-pdb", "prod-pdb"])
      expect(one(all, T.pdb, n).inputs.spec).toEqual({
        maxUnavailable: 1,
        selector: { matchLabels: { "app.kubernetes.io/name": "cloudflared" } },
      });
  });

  it("denies by default and lets cloudflared reach only DNS, Cloudflare's edge and the routed Services", () => {
    expect(one(all, T.netpol, "edge-default-deny").inputs.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const [dns, internet] = one(all, T.netpol, "edge-egress-edge").inputs.spec.egress;
    expect(dns.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(dns.to[0].namespaceSelector.matchLabels).toEqual({ "kubernetes.io/metadata.name": "kube-system" });
    expect(internet.to).toEqual([
      { ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } },
    ]);
    expect(internet.ports).toEqual([
      { protocol: "UDP", port: 7844 },
      { protocol: "TCP", port: 7844 },
      { protocol: "TCP", port: 443 },
    ]);
    const ns = (name: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
    expect(one(all, T.netpol, "edge-egress-routes").inputs.spec.egress).toEqual([
      {
        to: [ns("enclii")],
        ports: [
          { protocol: "TCP", port: 3000 },
          { protocol: "TCP", port: 8080 },
        ],
      },
      { to: [ns("enclii-tenant-router")], ports: [{ protocol: "TCP", port: 8000 }] },
      { to: [ns("janua")], ports: [{ protocol: "TCP", port: 8080 }] },
    ]);
    // Tenant namespaces are the router's to reach, never cloudflared's.
    expect(JSON.stringify(one(all, T.netpol, "prod-egress-routes").inputs.spec)).not.toContain("tenant");
  });

  it("refuses invalid routes before registering anything", () => {
    expect(() => new edge.Tunnel("bad", tunnelArgs({ routes: [route("www.example.com", "web", "enclii", 80)] }))).toThrow(
      "bad: invalid routes:\n  - www.example.com: hostname must be enclii.io or under it",
    );
    expect(all.filter((r) => r.name.startsWith("bad"))).toEqual([]);
  });
});

describe("R2Storage", () => {
  let r2: InstanceType<typeof edge.R2Storage>;
  let eu: InstanceType<typeof edge.R2Storage>;
  beforeAll(async () => {
    r2 = new edge.R2Storage("r2", {
      stack: "production",
      accountId: ACCOUNT,
      jurisdiction: "default",
      location: "weur",
      backupRetentionDays: 7,
      backupLockDays: 7,
      protect: true,
      provider: cfProvider,
    });
    eu = new edge.R2Storage("r2eu", {
      stack: "staging",
      accountId: ACCOUNT,
      jurisdiction: "eu",
      backupRetentionDays: 14,
      backupLockDays: 30,
      protect: false,
      provider: cfProvider,
    });
    edge.s3CredentialsSecret("r2-creds", "longhorn-system", r2.backupCredentials.longhorn, { provider: k8sProvider });
    await settled();
  });

  it("makes per-environment assets and backups buckets in the jurisdiction, with the location hint", async () => {
    expect(one(all, T.bucket, "r2-assets").inputs).toEqual({
      accountId: ACCOUNT,
      name: "enclii-production-assets",
      jurisdiction: "default",
      location: "weur",
    });
    expect(one(all, T.bucket, "r2-backups").inputs).toMatchObject({ name: "enclii-production-backups", jurisdiction: "default" });
    expect(one(all, T.bucket, "r2eu-backups").inputs).toEqual({ accountId: ACCOUNT, name: "enclii-staging-backups", jurisdiction: "eu" });
    expect(await resolve(r2.backupsBucket)).toBe("enclii-production-backups");
    expect(r2.endpoint).toBe(`https://${ACCOUNT}.r2.cloudflarestorage.com`);
    expect(eu.endpoint).toBe(`https://${ACCOUNT}.eu.r2.cloudflarestorage.com`);
  });

  it("aborts abandoned multipart uploads everywhere and expires postgres and etcd backups after retention plus a week", () => {
    const abort = {
      id: "abort-incomplete-multipart-uploads",
      enabled: true,
      conditions: { prefix: "" },
      abortMultipartUploadsTransition: { condition: { type: "Age", maxAge: 604_800 } },
    };
    expect(one(all, T.lifecycle, "r2-assets-lifecycle").inputs).toEqual({
      accountId: ACCOUNT,
      bucketName: "enclii-production-assets",
      jurisdiction: "default",
      rules: [abort],
    });
    const expire = (prefix: string) => ({
      id: `expire-${prefix}-after-14-days`,
      enabled: true,
      conditions: { prefix: `${prefix}/` },
      deleteObjectsTransition: { condition: { type: "Age", maxAge: 14 * 86_400 } },
    });
    expect(one(all, T.lifecycle, "r2-backups-lifecycle").inputs.rules).toEqual([abort, expire("postgres"), expire("etcd")]);
    // Longhorn's deduplicated blocks must never expire by age.
    expect(JSON.stringify(one(all, T.lifecycle, "r2-backups-lifecycle").inputs)).not.toContain("longhorn");
    expect(one(all, T.lifecycle, "r2eu-backups-lifecycle").inputs.rules[1].deleteObjectsTransition.condition.maxAge).toBe(21 * 86_400);
  });

  it("scopes the assets token to its bucket and one token per backup writer to the backups bucket, object read and write only", () => {
    const resources = (name: string) => JSON.parse(one(all, T.token, name).inputs.policies[0].resources);
    const bucketOf = { assets: "assets", "backups-postgres": "backups", "backups-longhorn": "backups", "backups-etcd": "backups" };
    for (const [role, bucket] of Object.entries(bucketOf)) {
      const token = one(all, T.token, `r2-${role}-token`).inputs;
      expect(token).toMatchObject({ accountId: ACCOUNT, name: `enclii-production-r2-${role}` });
      expect(token.policies).toHaveLength(1);
      expect(token.policies[0].permissionGroups).toEqual([
        { id: "6a018a9f2fc74eb6b293b0c548f38b39" },
        { id: "2efd5506f9c8494dacb1fa10a3e7d5b6" },
      ]);
      expect(resources(`r2-${role}-token`)).toEqual({
        [`com.cloudflare.edge.r2.bucket.${ACCOUNT}_default_enclii-production-${bucket}`]: "*",
      });
    }
    // No shared backups token is left: the assets token and one per backup writer.
    expect(
      under(all, T.token, "r2")
        .map((t) => t.name)
        .sort(),
    ).toEqual(["r2-assets-token", "r2-backups-etcd-token", "r2-backups-longhorn-token", "r2-backups-postgres-token"]);
    expect(Object.keys(resources("r2eu-assets-token"))).toEqual([`com.cloudflare.edge.r2.bucket.${ACCOUNT}_eu_enclii-staging-assets`]);
    expect(Object.keys(resources("r2eu-backups-etcd-token"))).toEqual([
      `com.cloudflare.edge.r2.bucket.${ACCOUNT}_eu_enclii-staging-backups`,
    ]);
  });

  it("derives S3 credentials: access key = token id, secret = SHA-256 of the token value, kept secret", async () => {
    for (const [creds, token] of [
      [r2.backupCredentials.postgres, "r2-backups-postgres-token"],
      [r2.backupCredentials.longhorn, "r2-backups-longhorn-token"],
      [r2.backupCredentials.etcd, "r2-backups-etcd-token"],
      [r2.assetsCredentials, "r2-assets-token"],
    ] as const) {
      expect(await resolve(creds.accessKeyId)).toMatch(/^[0-9a-f]{32}$/);
      expect(await resolve(creds.secretAccessKey)).toBe(createHash("sha256").update(fakeTokenValue(token)).digest("hex"));
      expect(await isSecret(creds.secretAccessKey)).toBe(true);
    }
    const keyIds = await Promise.all([r2.assetsCredentials, ...Object.values(r2.backupCredentials)].map((c) => resolve(c.accessKeyId)));
    expect(new Set(keyIds).size).toBe(4);
  });

  it("hands the credentials to a consumer namespace under every key its tools read", () => {
    const s = one(all, T.secret, "r2-creds").inputs;
    expect(s.metadata).toEqual({ name: "r2-credentials", namespace: "longhorn-system" });
    expect(Object.keys(s.stringData).sort()).toEqual([
      "ACCESS_KEY_ID",
      "ACCESS_SECRET_KEY",
      "AWS_ACCESS_KEY_ID",
      "AWS_ENDPOINTS",
      "AWS_SECRET_ACCESS_KEY",
    ]);
    expect(s.stringData.AWS_SECRET_ACCESS_KEY).toBe(s.stringData.ACCESS_SECRET_KEY);
    expect(s.stringData.AWS_ENDPOINTS).toBe(`https://${ACCOUNT}.r2.cloudflarestorage.com`);
  });
});

describe("CustomHostnames (the platform's half of Cloudflare for SaaS)", () => {
  let saas: InstanceType<typeof edge.CustomHostnames>;
  beforeAll(async () => {
    saas = new edge.CustomHostnames("saas", {
      stack: "staging",
      accountId: ACCOUNT,
      zoneId: ZONE_ID,
      domain: "enclii.io",
      tunnelCname: "tunnel-uuid.cfargotunnel.com",
      routerReplicas: 2,
      nodeIps: ["10.0.1.10", "10.0.1.11"],
      probes: true,
      cloudflareProvider: cfProvider,
      k8sProvider,
    });
    await settled();
  });

  it("points the fallback origin proxy.<domain> at the tunnel", () => {
    expect(one(all, T.dns, "saas-fallback-cname").inputs).toMatchObject({
      zoneId: ZONE_ID,
      name: "proxy.enclii.io",
      type: "CNAME",
      content: "tunnel-uuid.cfargotunnel.com",
      proxied: true,
    });
    expect(one(all, T.fallback, "saas-fallback").inputs).toEqual({ zoneId: ZONE_ID, origin: "proxy.enclii.io" });
    expect(saas.fallbackOrigin).toBe("proxy.enclii.io");
  });

  it("gives the tenant shards an account token for this zone's certificates and nothing else, as a secret", async () => {
    const token = one(all, T.token, "saas-token").inputs;
    expect(token.name).toBe("enclii-staging-tenants");
    expect(token.policies).toEqual([
      {
        effect: "allow",
        permissionGroups: [{ id: edge.SSL_AND_CERTIFICATES_WRITE }, { id: edge.ZONE_READ }],
        resources: JSON.stringify({ [`com.cloudflare.api.account.zone.${ZONE_ID}`]: "*" }),
      },
    ]);
    expect(await isSecret(saas.apiToken)).toBe(true);
  });

  it("runs the tenant router: Traefik on standard Ingresses of its own class, hardened, reachable from cloudflared only", () => {
    expect(saas.router).toEqual(ROUTER);
    // Matched by annotation: the router reads no IngressClass (no cluster-scoped lookup at all).
    expect(find(all, "kubernetes:networking.k8s.io/v1:IngressClass")).toEqual([]);
    const d = one(all, T.deployment, "saas-router-deployment").inputs;
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    // It watches the API server, so it mounts the token and says why.
    expect(d.spec.template.metadata.annotations).toEqual({ [NEEDS_TOKEN_ANNOTATION]: "watches Ingresses, Services and EndpointSlices" });
    const pod = d.spec.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: "tenant-router", automountServiceAccountToken: true, enableServiceLinks: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.containers[0].image).toMatch(/^traefik:v3\.\d+\.\d+$/);
    expect(pod.containers[0].args.filter((a: string) => a.includes("ingressClass"))).toEqual([]);
    expect(pod.containers[0].args).toEqual(
      expect.arrayContaining([
        "--providers.kubernetesIngress.namespaces=enclii-tenant-router",
        "--providers.kubernetesIngress.disableClusterScopeResources=true",
        "--providers.kubernetesIngress.allowExternalNameServices=true",
        "--providers.kubernetesIngress.ingressEndpoint.hostname=proxy.enclii.io",
      ]),
    );
    expect(pod.containers[0].args).toContain("--entryPoints.web.address=:8000");
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    const svc = one(all, "kubernetes:core/v1:Service", "saas-router-service").inputs;
    expect(svc.spec.ports).toEqual([{ name: "web", port: 8000, targetPort: 8000 }]);
    const policy = one(all, T.netpol, "saas-router-policy").inputs.spec;
    expect(policy.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cloudflared" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "cloudflared" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 8000 }],
      },
    ]);
    expect(policy.egress.at(-1)).toEqual({
      to: [{ namespaceSelector: { matchExpressions: [{ key: "enclii.io/tenant", operator: "Exists" }] } }],
    });
    // The API server at the nodes only: nothing to the internet.
    expect(policy.egress[1]).toEqual({
      to: [{ ipBlock: { cidr: "10.0.1.10/32" } }, { ipBlock: { cidr: "10.0.1.11/32" } }],
      ports: [{ protocol: "TCP", port: 6443 }],
    });
    expect(JSON.stringify(policy.egress)).not.toContain("0.0.0.0/0");
  });

  it("lets the router read its own namespace only: a Role, no ClusterRole", () => {
    const role = one(all, "kubernetes:rbac.authorization.k8s.io/v1:Role", "saas-router-role").inputs;
    expect(role.metadata).toEqual({ name: "tenant-router", namespace: "enclii-tenant-router" });
    expect(role.rules.flatMap((r: { resources: string[] }) => r.resources)).toEqual([
      "services",
      "secrets",
      "endpointslices",
      "ingresses",
      "ingresses/status",
    ]);
    expect(one(all, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "saas-router-binding").inputs.roleRef).toMatchObject({
      kind: "Role",
      name: "tenant-router",
    });
    expect(find(all, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").filter((r) => r.name.startsWith("saas-router"))).toEqual([]);
  });

  it("gives the shards their own account, fenced by admission policies before it gets any right", () => {
    const sa = one(all, "kubernetes:core/v1:ServiceAccount", "saas-access-account").inputs;
    expect(sa).toMatchObject({ metadata: { name: "enclii-tenants", namespace: "kube-system" }, automountServiceAccountToken: false });
    const policies = find(all, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy").map((p) => p.inputs.metadata.name);
    expect(policies.sort()).toEqual(["enclii-tenant-router-no-secrets", "enclii-tenants-scope"]);
    const bindings = find(all, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding");
    expect(bindings.map((b) => [b.inputs.spec.policyName, b.inputs.spec.validationActions]).sort()).toEqual([
      ["enclii-tenant-router-no-secrets", ["Deny"]],
      ["enclii-tenants-scope", ["Deny"]],
    ]);
    expect(one(all, "kubernetes:rbac.authorization.k8s.io/v1:Role", "saas-access-routes-role").inputs.metadata.namespace).toBe(
      "enclii-tenant-router",
    );
    expect(one(all, "kubernetes:rbac.authorization.k8s.io/v1:Role", "saas-access-probes-role").inputs.metadata.namespace).toBe(
      "monitoring",
    );
    // No Secret, Pod or RBAC kind anywhere in what the account may do.
    const resources = find(all, "kubernetes:rbac.authorization.k8s.io/v1:Role")
      .concat(find(all, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"))
      .filter((r) => r.name.startsWith("saas-access"))
      .flatMap((r) => r.inputs.rules.flatMap((rule: { resources: string[] }) => rule.resources));
    expect(resources.filter((r: string) => /secret|pod|role|token|serviceaccount/.test(r))).toEqual([]);
  });

  it("registers no tenant anything: its size does not depend on tenants", () => {
    expect(
      all
        .filter((r) => r.name.startsWith("saas-"))
        .map((r) => r.type)
        .sort(),
    ).toEqual(
      [
        "cloudflare:index/accountToken:AccountToken",
        "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin",
        "cloudflare:index/dnsRecord:DnsRecord",
        "enclii:edge:TenantRouter",
        "enclii:edge:TenantsAccess",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Service",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        ...["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Role", "RoleBinding"].map(
          (k) => `kubernetes:rbac.authorization.k8s.io/v1:${k}`,
        ),
        ...["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"].flatMap((k) => [
          `kubernetes:admissionregistration.k8s.io/v1:${k}`,
          `kubernetes:admissionregistration.k8s.io/v1:${k}`,
        ]),
      ].sort(),
    );
  });
});

describe("every Kubernetes object registered so far", () => {
  it("validates against the Kubernetes schema", async () => {
    const objects = all.filter((r) => r.type.startsWith("kubernetes:") && typeof r.inputs.kind === "string");
    expect(new Set(objects.map((o) => o.inputs.kind))).toEqual(
      new Set([
        "Namespace",
        "Secret",
        "Deployment",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
      ]),
    );
    for (const o of objects)
      await expect(validateObject(o.inputs as { apiVersion: string; kind: string }), o.name).resolves.toBeUndefined();
  });
});

describe("secrets in the offline plan", () => {
  let written: string;
  let plan: import("../automation/plan").PlanResult;
  const byName = (name: string) => plan.resources.find((r) => r.name === name)!;
  beforeAll(async () => {
    const { runPlan } = await import("../automation/plan");
    const { planFiles } = await import("../automation/files");
    plan = await runPlan("edge-secrets", { config: {}, secretKeys: [] }, async () => {
      const cf = new cloudflare.Provider("cf", { apiToken: "t" });
      const kube = new k8s.Provider("k8s", { kubeconfig: "k" });
      const tunnel = new edge.Tunnel("edge", tunnelArgs({ cloudflareProvider: cf, k8sProvider: kube }));
      const r2 = new edge.R2Storage("r2", {
        stack: "production",
        accountId: ACCOUNT,
        jurisdiction: "default",
        backupRetentionDays: 7,
        backupLockDays: 7,
        protect: true,
        provider: cf,
      });
      edge.s3CredentialsSecret("r2-creds", "cnpg-system", r2.backupCredentials.postgres, { provider: kube });
      const saas = new edge.CustomHostnames("saas", {
        stack: "production",
        accountId: ACCOUNT,
        zoneId: ZONE_ID,
        domain: "enclii.io",
        tunnelCname: tunnel.cnameTarget,
        routerReplicas: 2,
        nodeIps: ["10.0.1.10"],
        probes: false,
        cloudflareProvider: cf,
        k8sProvider: kube,
      });
      return { tunnelId: tunnel.tunnelId, r2: r2.backupCredentials, tenantApiToken: saas.apiToken };
    });
    written = [...planFiles(plan).values()].join("\n") + JSON.stringify(plan.outputs);
  });

  it("writes the tunnel token and the R2 secret key nowhere, not even hashed", () => {
    const tunnelId = fakeUuid("edge-tunnel");
    const r2Tokens = ["r2-assets-token", "r2-backups-postgres-token", "r2-backups-longhorn-token", "r2-backups-etcd-token"].map(
      fakeTokenValue,
    );
    const tenantToken = fakeTokenValue("saas-token");
    const r2Keys = r2Tokens.map((t) => createHash("sha256").update(t).digest("hex"));
    for (const leaked of [fakeTunnelToken(ACCOUNT, tunnelId), ...r2Tokens, ...r2Keys, tenantToken]) expect(written).not.toContain(leaked);
    expect(plan.outputs.tenantApiToken).toBe("[secret]");
    expect(byName("edge-token").inputs.stringData).toEqual({ token: "[secret]" });
    expect(Object.values(byName("r2-creds").inputs.stringData as object).every((v) => v === "[secret]")).toBe(true);
    expect(byName("edge-tunnel").inputs.tunnelSecret).toBe("[secret]");
    for (const writer of ["postgres", "longhorn", "etcd"])
      expect(plan.outputs.r2).toMatchObject({ [writer]: { secretAccessKey: "[secret]" } });
    expect(plan.outputs.tunnelId).toBe(tunnelId);
  });

  it("gives the shards' account its rights only after the admission policies that fence it are bound", () => {
    const fences = ["saas-access-enclii-tenants-scope-binding", "saas-access-enclii-tenant-router-no-secrets-binding"].map(
      (n) => byName(n).urn,
    );
    for (const name of ["saas-access-cluster-role", "saas-access-cluster-binding", "saas-access-routes-role", "saas-access-routes-binding"])
      expect(byName(name).dependencies, name).toEqual(expect.arrayContaining(fences));
  });

  it("keeps both buckets: protected, and forgotten rather than deleted if dropped from the program", () => {
    for (const bucket of ["r2-backups", "r2-assets"]) expect(byName(bucket), bucket).toMatchObject({ protect: true, retainOnDelete: true });
    expect(byName("r2-backups-lifecycle")).toMatchObject({ protect: false, retainOnDelete: false });
    // Deleting the lock resource leaves the rules on the bucket (docs/storage.md#backups-a-compromised-cluster-cannot-delete).
    expect(byName("r2-backups-lock")).toMatchObject({ protect: false, retainOnDelete: false });
  });

  it("puts every child on an explicit provider", () => {
    for (const r of plan.resources.filter((x) => /^(cloudflare|kubernetes):/.test(x.type)))
      expect(r.provider, r.name).toMatch(/[$:]pulumi:providers:(cloudflare|kubernetes)::(cf|k8s)$/);
  });
});
