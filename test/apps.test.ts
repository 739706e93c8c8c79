/**
 * The apps layer under mocks: what each dogfooding/ spec registers, and the env, network and
 * disruption rules that come from its bindings; a canary beside the stable pods. Janua's tokens
 * are proven in janua.test.ts; the canary's objects on a real API server in canary-objects.real.test.ts.
 */
import type * as k8sNs from "@pulumi/kubernetes";
import type * as pulumiNs from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { secretPlaceholder } from "../automation/placeholders";
import { kubernetesObject } from "../policy/policies";
import { checkObjects } from "../policy/rules";
import type { Apps as AppsClass } from "../components/apps/Apps";
import { SIGNING_KEYS_KEY } from "../model/config/schema";
import { resolveServices, type AppService } from "../model/config/services";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { find, isSecret, one, recordResources, resolve, settled, validateObject, type Registered } from "./harness";

const T = {
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  account: "kubernetes:core/v1:ServiceAccount",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  secret: "kubernetes:core/v1:Secret",
};
const NAMES = ["docs-site", "janua", "landing-page", "status-page", "switchyard-api", "switchyard-ui"];

function services(overrides = {}): AppService[] {
  const r = resolveServices(readSpecFiles(DOGFOODING_DIR), { domain: "enclii.io", overrides });
  if (r.problems.length > 0) throw new Error(r.problems.join("\n"));
  return r.services;
}

/** Images the canary instance runs beside the specs' (enclii:services.<name>.canary.image). */
const CANARY_IMAGES = { "switchyard-api": "ghcr.io/madfam-io/switchyard-api:1.5.0", "docs-site": "ghcr.io/madfam-io/docs-site:1.5.0" };

let all: Registered[];
let apps: AppsClass;
const spec = (name: string) => one(all, T.deployment, `apps-${name}-deployment`).inputs.spec;
const container = (name: string) => spec(name).template.spec.containers[0];
const envOf = (name: string) => Object.fromEntries(container(name).env.map((e: any) => [e.name, e.value ?? e.valueFrom.secretKeyRef]));

beforeAll(async () => {
  all = await recordResources("production");
  const pulumi: typeof pulumiNs = await import("@pulumi/pulumi");
  const k8s: typeof k8sNs = await import("@pulumi/kubernetes");
  const { Apps } = await import("../components/apps/Apps");
  const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
  const credentials = {
    accessKeyId: pulumi.output("r2-assets-key-id"),
    secretAccessKey: pulumi.secret("r2-assets-secret"),
    endpoint: "https://acct.r2.cloudflarestorage.com",
  };
  const appsNamed = (name: string, overrides: object) =>
    new Apps(name, {
      services: services(overrides),
      redisMode: "sentinel",
      r2: { bucket: pulumi.output("enclii-production-assets"), credentials },
      janua: {
        signingKeys: pulumi.secret(secretPlaceholder(SIGNING_KEYS_KEY)),
        rotationDays: 90,
        localhostRedirects: false,
        smtp: {
          settings: { host: "smtp.sendgrid.net", port: 587, username: "apikey", from: "no-reply@enclii.io" },
          password: pulumi.secret("SG.smtp-password"),
        },
      },
      stack: "production",
      provider,
    });
  apps = appsNamed("apps", { "docs-site": { replicas: 1 } });
  // The same platform while a deploy watches two canaries: switchyard-api's (autoscaled) of 2 with
  // the spec's stable replicas, and docs-site's of 2 beside a single stable pod.
  appsNamed("canary", {
    "switchyard-api": { canary: { image: CANARY_IMAGES["switchyard-api"], replicas: 2 } },
    "docs-site": { replicas: 1, canary: { image: CANARY_IMAGES["docs-site"], replicas: 2 } },
  });
  await settled();
});

describe("every service", () => {
  it("gets a ServiceAccount without a token, a Deployment, a Service and a NetworkPolicy", () => {
    for (const n of NAMES) {
      expect(one(all, T.account, `apps-${n}-service-account`).inputs.automountServiceAccountToken).toBe(false);
      expect(one(all, T.service, `apps-${n}-service`).inputs.metadata).toMatchObject({ name: n, namespace: "enclii-platform" });
      expect(one(all, T.netpol, `apps-${n}-network-policy`).inputs.spec.podSelector).toEqual({
        matchLabels: { "app.kubernetes.io/name": n },
      });
      expect(spec(n).template.spec.automountServiceAccountToken).toBe(false);
    }
  });

  it("rolls out without ever dropping below the desired count, with startup, readiness and liveness probes", () => {
    for (const n of NAMES) {
      expect(spec(n).strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      const c = container(n);
      for (const p of ["startupProbe", "readinessProbe", "livenessProbe"]) expect(c[p].httpGet.port, `${n} ${p}`).toBe("http");
    }
    expect(container("switchyard-api").startupProbe).toEqual({
      httpGet: { path: "/health", port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 6,
    });
    expect(container("switchyard-ui").readinessProbe.httpGet.path).toBe("/api/health");
  });

  it("runs restricted: non-root with the spec's uid, read-only root, no escalation, no capabilities, RuntimeDefault seccomp", () => {
    expect(spec("switchyard-ui").template.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1001,
      runAsGroup: 1001,
      fsGroup: 1001,
      seccompProfile: { type: "RuntimeDefault" },
    });
    for (const n of NAMES) {
      expect(container(n).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
    }
  });

  it("gives each writable path an emptyDir, since the root filesystem is read-only", () => {
    expect(container("switchyard-ui").volumeMounts).toEqual([
      { name: "writable-0", mountPath: "/tmp" },
      { name: "writable-1", mountPath: "/app/.next/cache" },
    ]);
    expect(spec("switchyard-ui").template.spec.volumes).toEqual([
      { name: "writable-0", emptyDir: {} },
      { name: "writable-1", emptyDir: {} },
    ]);
  });

  it("requests CPU and memory and limits memory; spreads replicas across nodes", () => {
    expect(container("janua").resources).toEqual({ requests: { cpu: "200m", memory: "256Mi" }, limits: { memory: "512Mi" } });
    expect(spec("janua").template.spec.topologySpreadConstraints[0]).toMatchObject({
      topologyKey: "kubernetes.io/hostname",
      labelSelector: { matchLabels: { "app.kubernetes.io/name": "janua" } },
    });
  });

  it("passes the Kubernetes schema", async () => {
    const objects = all.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("apps-"));
    expect(objects.length).toBeGreaterThan(30);
    for (const r of objects) {
      const [, groupVersion, kind] = r.type.split(":");
      const apiVersion = groupVersion.replace(/^core\//, "");
      await expect(validateObject({ ...r.inputs, apiVersion, kind }), r.name).resolves.toBeUndefined();
    }
  });
});

describe("replicas, disruption budgets and autoscaling", () => {
  it("adds a PDB only when there is more than one replica, and honours the replica override", () => {
    expect(find(all, T.pdb, "apps-docs-site-pdb")).toEqual([]);
    expect(spec("docs-site").replicas).toBe(1);
    for (const n of NAMES.filter((x) => x !== "docs-site"))
      expect(one(all, T.pdb, `apps-${n}-pdb`).inputs.spec).toEqual({
        maxUnavailable: 1,
        selector: { matchLabels: { "app.kubernetes.io/name": n } },
      });
  });

  it("scales switchyard-api with an HPA from its replicas to its maximum, and leaves the count to the HPA", () => {
    expect(find(all, T.hpa).map((h) => h.name)).toEqual(["apps-switchyard-api-hpa", "canary-switchyard-api-hpa"]);
    expect(one(all, T.hpa, "apps-switchyard-api-hpa").inputs.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "switchyard-api" },
      minReplicas: 3,
      maxReplicas: 6,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
    });
    expect(spec("switchyard-api").replicas).toBeUndefined();
    expect(spec("janua").replicas).toBe(3);
  });
});

describe("bindings become env", () => {
  it("gives switchyard-api its database, Redis, R2, Janua's issuer, in-cluster JWKS URL, HS256 secret and client credentials", () => {
    expect(envOf("switchyard-api")).toEqual({
      DATABASE_URL: { name: "database-enclii", key: "DATABASE_URL" },
      REDIS_URL: { name: "redis", key: "REDIS_URL" },
      // Shorter than Sentinel's down-after: a hung master's late OK reaches no client.
      REDIS_COMMAND_TIMEOUT_MS: "2000",
      R2_ENDPOINT: { name: "r2-assets", key: "R2_ENDPOINT" },
      R2_BUCKET: { name: "r2-assets", key: "R2_BUCKET" },
      R2_ACCESS_KEY_ID: { name: "r2-assets", key: "R2_ACCESS_KEY_ID" },
      R2_SECRET_ACCESS_KEY: { name: "r2-assets", key: "R2_SECRET_ACCESS_KEY" },
      JANUA_ISSUER: "https://auth.enclii.io",
      JANUA_JWKS_URL: "http://janua.enclii-platform.svc.cluster.local:8000/.well-known/jwks.json",
      JANUA_AUDIENCE: "enclii-api",
      JANUA_HS256_SECRET: { name: "janua-internal", key: "HS256_SECRET" },
      OIDC_CLIENT_ID: "enclii-api",
      OIDC_CLIENT_SECRET: { name: "oidc-client-enclii-api", key: "CLIENT_SECRET" },
      // Observability is off here: the tracing SDK is switched off rather than left to retry nowhere.
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_SERVICE_NAME: "switchyard-api",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=production,service.namespace=enclii-platform",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "1",
      OTEL_SDK_DISABLED: "true",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
    });
  });

  it("gives switchyard-ui its authority, client id and redirect URI", () => {
    expect(envOf("switchyard-ui")).toMatchObject({
      OIDC_AUTHORITY: "https://auth.enclii.io",
      OIDC_CLIENT_ID: "enclii-web-ui",
      OIDC_REDIRECT_URI: "https://app.enclii.io/callback",
      OIDC_SCOPE: "openid profile email",
    });
  });

  it("gives Janua its database, keys, secrets, clients and SMTP settings, the password by reference", () => {
    expect(envOf("janua")).toMatchObject({
      DATABASE_URL: { name: "database-janua", key: "DATABASE_URL" },
      JANUA_ISSUER: "https://auth.enclii.io",
      JANUA_SIGNING_KEYS: { name: "janua-signing-keys", key: "signing-keys.json" },
      JANUA_SESSION_SECRET: { name: "janua-session", key: "SESSION_SECRET" },
      JANUA_CLIENTS: { name: "janua-clients", key: "clients.json" },
      SMTP_HOST: "smtp.sendgrid.net",
      SMTP_PORT: "587",
      SMTP_PASSWORD: { name: "janua-session", key: "SMTP_PASSWORD" },
    });
  });

  it("never puts a secret value into a pod spec", () => {
    const text = JSON.stringify(find(all, T.deployment).map((d) => d.inputs));
    for (const leak of ["SG.smtp-password", "r2-assets-secret", "-----BEGIN"]) expect(text).not.toContain(leak);
    expect(text).not.toContain(JSON.parse(secretPlaceholder(SIGNING_KEYS_KEY)).keys[0].privateJwk.d);
  });

  it("writes the assets-only R2 credentials to their own Secret, as a Pulumi secret", async () => {
    const s = one(all, T.secret, "apps-r2-assets").inputs;
    expect(s.stringData).toEqual({
      R2_ENDPOINT: "https://acct.r2.cloudflarestorage.com",
      R2_BUCKET: "enclii-production-assets",
      R2_ACCESS_KEY_ID: "r2-assets-key-id",
      R2_SECRET_ACCESS_KEY: "r2-assets-secret",
    });
  });
});

describe("network policies", () => {
  const policy = (n: string) => one(all, T.netpol, `apps-${n}-network-policy`).inputs.spec;
  const cloudflared = {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cloudflared" } },
    podSelector: { matchLabels: { "app.kubernetes.io/name": "cloudflared" } },
  };
  const pods = (n: string) => ({ podSelector: { matchLabels: { "app.kubernetes.io/name": n } } });
  const tcp = (port: number) => [{ protocol: "TCP", port }];

  it("denies everything in the namespace by default and allows DNS", () => {
    expect(one(all, T.netpol, "apps-default-deny").inputs).toMatchObject({
      metadata: { namespace: "enclii-platform" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    });
    expect(one(all, T.netpol, "apps-allow-dns").inputs.spec.egress[0].ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
  });

  it("lets switchyard-api be reached by cloudflared and its declared callers, and reach only its bindings", () => {
    const p = policy("switchyard-api");
    expect(p.ingress).toEqual([
      { from: [cloudflared], ports: tcp(8080) },
      { from: [pods("status-page"), pods("switchyard-ui")], ports: tcp(8080) },
    ]);
    expect(p.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "enclii-data" } } }], ports: tcp(5432) },
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "enclii-data" } } }],
        ports: [...tcp(6379), ...tcp(26379)],
      },
      {
        to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } }],
        ports: tcp(443),
      },
      { to: [pods("janua")], ports: tcp(8000) },
    ]);
  });

  it("lets Janua be reached by cloudflared and its OIDC consumers, and send mail on the SMTP port", () => {
    const p = policy("janua");
    expect(p.ingress).toEqual([
      { from: [cloudflared], ports: tcp(8000) },
      { from: [pods("switchyard-api"), pods("switchyard-ui")], ports: tcp(8000) },
    ]);
    expect(p.egress.at(-1)).toEqual({
      to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } }],
      ports: tcp(587),
    });
  });

  it("gives a static site no egress beyond DNS", () => {
    expect(policy("docs-site")).toEqual({
      podSelector: { matchLabels: { "app.kubernetes.io/name": "docs-site" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [cloudflared], ports: tcp(8080) }],
      egress: [],
    });
  });
});

describe("routes and Janua", () => {
  it("hands the edge one route per hostname, to the service's port", () => {
    expect([...apps.routes].sort((a, b) => (a.hostname < b.hostname ? -1 : 1))).toEqual([
      { hostname: "api.enclii.io", service: { namespace: "enclii-platform", name: "switchyard-api", port: 8080 } },
      { hostname: "app.enclii.io", service: { namespace: "enclii-platform", name: "switchyard-ui", port: 3000 } },
      { hostname: "auth.enclii.io", service: { namespace: "enclii-platform", name: "janua", port: 8000 } },
      { hostname: "docs.enclii.io", service: { namespace: "enclii-platform", name: "docs-site", port: 8080 } },
      { hostname: "enclii.io", service: { namespace: "enclii-platform", name: "landing-page", port: 3000 } },
      { hostname: "status.enclii.io", service: { namespace: "enclii-platform", name: "status-page", port: 3000 } },
    ]);
  });

  it("publishes the JWKS as a plain output with public members only", async () => {
    expect(await isSecret(apps.jwks!)).toBe(false);
    const jwks = await resolve(apps.jwks!);
    expect(jwks.keys.map((k) => Object.keys(k).sort())).toEqual([["alg", "e", "kid", "kty", "n", "use"]]);
  });

  it("rolls Janua's pods when the signing key ids change", async () => {
    const kid = JSON.parse(secretPlaceholder(SIGNING_KEYS_KEY)).keys[0].kid;
    expect(spec("janua").template.metadata.annotations).toEqual({ "enclii.dev/signing-key-ids": kid });
  });

  it("generates an HS256 secret of at least 32 bytes and a session secret, kept in Pulumi state", () => {
    expect(one(all, "random:index/randomBytes:RandomBytes", "apps-janua-hs256").inputs.length).toBeGreaterThanOrEqual(32);
    expect(one(all, T.secret, "apps-janua-internal").inputs.stringData.HS256_SECRET).toBeTypeOf("string");
    expect(Buffer.from(one(all, T.secret, "apps-janua-internal").inputs.stringData.HS256_SECRET, "base64").length).toBeGreaterThanOrEqual(
      32,
    );
    expect(one(all, "random:index/randomPassword:RandomPassword", "apps-janua-session").inputs).toMatchObject({ length: 64 });
  });

  it("registers the OIDC clients from the specs: a public web client and a confidential API client with a generated secret", () => {
    const registry = JSON.parse(one(all, T.secret, "apps-janua-clients").inputs.stringData["clients.json"]);
    expect(registry.clients.map((c: any) => [c.client_id, c.token_endpoint_auth_method, c.grant_types, c.redirect_uris])).toEqual([
      ["enclii-api", "client_secret_basic", ["client_credentials"], undefined],
      ["enclii-web-ui", "none", ["authorization_code", "refresh_token"], ["https://app.enclii.io/callback"]],
    ]);
    const secret = one(all, T.secret, "apps-janua-client-enclii-api").inputs.stringData.CLIENT_SECRET;
    expect(registry.clients[0].client_secret).toBe(secret);
    expect(registry.clients[1].client_secret).toBeUndefined();
  });
});

describe("a canary beside the stable pods", () => {
  const NAME = "app.kubernetes.io/name";
  const deployment = (name: string) => one(all, T.deployment, name).inputs;
  /** A selector's matchLabels select pods whose labels hold every one of them. */
  const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);

  it("registers <service>-canary with the canary's image and replicas, the stable pod spec otherwise", () => {
    for (const svc of ["switchyard-api", "docs-site"] as const) {
      const stable = deployment(`canary-${svc}-deployment`);
      const canary = deployment(`canary-${svc}-canary`);
      expect(canary.metadata).toMatchObject({ name: `${svc}-canary`, namespace: "enclii-platform" });
      expect(canary.metadata.annotations).toEqual(stable.metadata.annotations);
      expect(canary.spec.replicas, svc).toBe(2);
      expect(canary.spec.template.spec.containers[0].image).toBe(CANARY_IMAGES[svc]);
      // The stable pods keep the spec's image and count (switchyard-api's left to its HPA).
      expect(stable.spec.template.spec.containers[0].image).toBe(container(svc).image);
      expect(stable.spec.replicas).toBe(spec(svc).replicas);
      // Everything else of the pod is the stable one's: env, probes, security, volumes; the spread counts the canary's own pods.
      const expected = structuredClone(stable.spec.template.spec);
      expected.containers[0].image = CANARY_IMAGES[svc];
      expected.topologySpreadConstraints[0].labelSelector.matchLabels = { [NAME]: svc, "enclii.io/track": "canary" };
      expect(canary.spec.template.spec).toEqual(expected);
      expect(canary.spec.strategy).toEqual(stable.spec.strategy);
    }
    // The HPA keeps scaling the stable Deployment alone; the canary's count is fixed.
    expect(deployment("canary-switchyard-api-deployment").spec.replicas).toBeUndefined();
    expect(one(all, T.hpa, "canary-switchyard-api-hpa").inputs.spec.scaleTargetRef.name).toBe("switchyard-api");
  });

  it("labels each track's pods, adds the track to the canary's selector only, and keeps the stable selector as without a canary", () => {
    for (const svc of ["switchyard-api", "docs-site"]) {
      const stable = deployment(`canary-${svc}-deployment`).spec;
      const canary = deployment(`canary-${svc}-canary`).spec;
      const shared = { [NAME]: svc, "app.kubernetes.io/part-of": "enclii" };
      expect(stable.template.metadata.labels).toEqual({ ...shared, "enclii.io/track": "stable" });
      expect(canary.template.metadata.labels).toEqual({ ...shared, "enclii.io/track": "canary" });
      expect(canary.selector).toEqual({ matchLabels: { [NAME]: svc, "enclii.io/track": "canary" } });
      // A selector is immutable: the stable one is the name alone, with or without a canary, as it was before tracks.
      expect(stable.selector).toEqual({ matchLabels: { [NAME]: svc } });
      expect(stable.selector).toEqual(spec(svc).selector);
      expect(spec(svc).template.metadata.labels).toEqual(stable.template.metadata.labels);
      // The Service routes to both tracks; the canary's selector never claims a stable pod.
      const service = one(all, T.service, `canary-${svc}-service`).inputs.spec.selector;
      expect(service).toEqual(one(all, T.service, `apps-${svc}-service`).inputs.spec.selector);
      expect(selects(service, stable.template.metadata.labels)).toBe(true);
      expect(selects(service, canary.template.metadata.labels)).toBe(true);
      expect(selects(canary.selector.matchLabels, stable.template.metadata.labels)).toBe(false);
      expect(selects(canary.selector.matchLabels, canary.template.metadata.labels)).toBe(true);
    }
  });

  it("registers no canary Deployment without the override", () => {
    const canaries = (prefix: string) =>
      find(all, T.deployment)
        .filter((d) => d.name.startsWith(prefix) && d.inputs.metadata.name.endsWith("-canary"))
        .map((d) => d.name);
    expect(canaries("apps-")).toEqual([]);
    expect(canaries("canary-").sort()).toEqual(["canary-docs-site-canary", "canary-switchyard-api-canary"]);
  });

  it("gives a canary of several pods a disruption budget even beside one stable pod, and passes the schema and the policy pack", async () => {
    // Without the canary docs-site has one pod and no budget (above); with it, one budget covers both tracks.
    expect(one(all, T.pdb, "canary-docs-site-pdb").inputs.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { [NAME]: "docs-site" } },
    });
    const objects = all.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("canary-"));
    for (const r of objects.filter((x) => x.type === T.deployment)) {
      await expect(validateObject({ ...r.inputs, apiVersion: "apps/v1", kind: "Deployment" }), r.name).resolves.toBeUndefined();
    }
    expect(checkObjects(objects.map((r) => kubernetesObject(r.type, r.inputs)!))).toEqual([]);
  });
});
