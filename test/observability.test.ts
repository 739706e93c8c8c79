/**
 * Observability as the plans register it: the monitoring namespaces, the pinned charts and their
 * sizes, what is scraped and probed, the NetworkPolicies that admit the scrapers and nothing else,
 * the apps' tracing and availability wiring, Grafana behind Cloudflare Access, paging, and the
 * absence of all of it when it is switched off.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { planCapacity } from "../automation/capacity";
import { planFiles } from "../automation/files";
import { describeObservability } from "../automation/summary";
import { runPlan, type PlanResource, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { EXEMPT_NAMESPACES } from "../policy/objects";
import { checkObjects } from "../policy/rules";
import { kubernetesObject } from "../policy/policies";
import { parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT } from "./harness";

/** A repository stack file with its config changed: `edit` gets the parsed map of plain keys. */
function config(file: string, edit: (config: Record<string, string>) => void = () => {}) {
  const cfg = loadStackConfig(join(ROOT, file));
  edit(cfg.config);
  // As `pulumi config set --secret enclii:paging` would mark it.
  if (cfg.config["enclii:paging"] !== undefined) cfg.secretKeys.push("enclii:paging");
  return cfg;
}
const plan = (file: string, stack: string, edit?: (config: Record<string, string>) => void): Promise<PlanResult> =>
  runPlan(stack, config(file, edit));
const environment = (file: string, stack: string, edit?: (config: Record<string, string>) => void) => {
  const cfg = config(file, edit);
  return parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
};
const OFF = (c: Record<string, string>) => {
  c["enclii:observability"] = JSON.stringify({ enabled: false });
};
const ofType = (r: PlanResult, type: string) => r.resources.filter((x) => x.type === type);
const named = (r: PlanResult, type: string, name: string) => {
  const found = ofType(r, type).filter((x) => (x.inputs.metadata as { name?: string } | undefined)?.name === name || x.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return found[0];
};
const inputs = (r: PlanResource) => r.inputs as any;
const MONITORING = "kubernetes:monitoring.coreos.com/v1:";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const ns = (r: PlanResource) => inputs(r).metadata?.namespace;

const GRAFANA = { host: "grafana", allowedEmails: ["ops@enclii.io"], allowedEmailDomains: ["madfam.io"], teamName: "madfam" };
const CONFIG = "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig";
const ACCOUNT = "kubernetes:core/v1:ServiceAccount";
const RBAC = "kubernetes:rbac.authorization.k8s.io/v1:";
const CANARY = "CANARY_paging_0c1e6a2b9f";

let production: PlanResult;
let exposed: PlanResult;
let staging: PlanResult;
let off: PlanResult;

beforeAll(async () => {
  production = await plan("Pulumi.production.yaml", "production");
  exposed = await plan("Pulumi.production.yaml", "production", (c) => {
    c["enclii:observability"] = JSON.stringify({ grafana: GRAFANA });
    c["enclii:paging"] = JSON.stringify({ pagerduty: { routingKey: CANARY }, deadMansSwitch: { url: `https://hc-ping.com/${CANARY}` } });
  });
  staging = await plan("Pulumi.staging.yaml", "staging");
  off = await plan("Pulumi.staging.yaml", "staging", OFF);
}, 120_000);

describe("production's observability", () => {
  it("installs the pinned charts into the monitoring namespaces, every volume on Longhorn", () => {
    const releases = ofType(production, RELEASE)
      .map((r) => [inputs(r).chart, inputs(r).version, inputs(r).namespace])
      .filter(([, , n]) => String(n).startsWith("monitoring"));
    expect(releases.sort()).toEqual([
      ["alloy", "1.11.1", "monitoring"],
      ["kube-prometheus-stack", "88.3.0", "monitoring"],
      ["loki", "18.11.0", "monitoring"],
      ["prometheus-blackbox-exporter", "11.17.2", "monitoring"],
      ["tempo", "2.2.4", "monitoring"],
    ]);
    const kps = inputs(named(production, RELEASE, "enclii-observability-metrics-release")).values;
    expect(kps.prometheus.prometheusSpec).toMatchObject({
      retention: "15d",
      retentionSize: "45GiB",
      storageSpec: { volumeClaimTemplate: { spec: { storageClassName: "longhorn", resources: { requests: { storage: "50Gi" } } } } },
      resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
      ruleSelectorNilUsesHelmValues: false,
      podMonitorSelectorNilUsesHelmValues: false,
      probeSelectorNilUsesHelmValues: false,
    });
    // k3s serves every control-plane component's metrics from one process: no separate monitors,
    // and the kubelet's job keeps the name the chart's rules select.
    for (const m of ["kubeControllerManager", "kubeScheduler", "kubeProxy"]) expect(kps[m]).toEqual({ enabled: false });
    expect(kps.kubelet).toBeUndefined();
    // Embedded etcd is not a pod: scraped at the server's address, where k3s exposes its metrics.
    expect(kps.kubeEtcd).toEqual({
      enabled: true,
      endpoints: ["203.0.113.10"],
      service: { enabled: true, port: 2381, targetPort: 2381 },
      serviceMonitor: { scheme: "http" },
    });
    expect(kps.defaultRules.rules.etcd).toBeUndefined();
    expect(kps.grafana.admin).toEqual({ existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
    // Every container has requests and a memory limit, the sidecars too.
    expect(kps.prometheusOperator.prometheusConfigReloader.resources).toEqual({
      requests: { cpu: "10m", memory: "32Mi" },
      limits: { memory: "64Mi" },
    });
    expect(kps.grafana.sidecar.resources).toEqual({ requests: { cpu: "10m", memory: "96Mi" }, limits: { memory: "192Mi" } });
    expect(inputs(named(production, RELEASE, "enclii-observability-logs-alloy")).values.configReloader.resources.limits).toEqual({
      memory: "64Mi",
    });
    expect(kps.alertmanager.alertmanagerSpec).toMatchObject({ configSecret: "alertmanager-config", useExistingSecret: true });
    const loki = inputs(named(production, RELEASE, "enclii-observability-logs-loki")).values;
    expect(loki.loki.limits_config).toEqual({ retention_period: "336h" });
    expect(loki.singleBinary.persistence).toEqual({ enabled: true, size: "50Gi", storageClass: "longhorn" });
    expect(
      inputs(named(production, "kubernetes:core/v1:Namespace", "monitoring")).metadata.labels["pod-security.kubernetes.io/enforce"],
    ).toBe("restricted");
    // Only node-exporter reads the host: its namespace alone is exempt, monitoring (with Alloy) is not.
    expect(Object.keys(EXEMPT_NAMESPACES)).toContain("monitoring-agents");
    expect(Object.keys(EXEMPT_NAMESPACES)).not.toContain("monitoring");
  });

  it("runs Grafana and Alloy as accounts of ours, with the charts' RBAC off, before their releases", () => {
    const grafana = named(production, ACCOUNT, "grafana");
    const alloy = named(production, ACCOUNT, "alloy");
    expect([ns(grafana), ns(alloy)]).toEqual(["monitoring", "monitoring"]);
    expect(inputs(named(production, `${RBAC}Role`, "grafana-dashboards"))).toMatchObject({
      metadata: { name: "grafana-dashboards", namespace: "monitoring" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
    });
    expect(inputs(named(production, `${RBAC}RoleBinding`, "grafana-dashboards"))).toMatchObject({
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "grafana-dashboards" },
      subjects: [{ kind: "ServiceAccount", name: "grafana", namespace: "monitoring" }],
    });
    expect(inputs(named(production, `${RBAC}ClusterRole`, "enclii-alloy")).rules).toEqual([
      { apiGroups: [""], resources: ["pods", "pods/log", "namespaces"], verbs: ["get", "list", "watch"] },
    ]);
    expect(inputs(named(production, `${RBAC}ClusterRoleBinding`, "enclii-alloy"))).toMatchObject({
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "enclii-alloy" },
      subjects: [{ kind: "ServiceAccount", name: "alloy", namespace: "monitoring" }],
    });
    const kps = named(production, RELEASE, "enclii-observability-metrics-release");
    expect(inputs(kps).values.grafana).toMatchObject({
      rbac: { create: false },
      serviceAccount: { create: false, name: "grafana" },
      sidecar: { dashboards: { searchNamespace: ["monitoring"], resource: "configmap" }, datasources: { enabled: false } },
    });
    const release = named(production, RELEASE, "enclii-observability-logs-alloy");
    expect(inputs(release).values).toMatchObject({ rbac: { create: false }, serviceAccount: { create: false, name: "alloy" } });
    for (const [r, account, binding] of [
      [kps, grafana, named(production, `${RBAC}RoleBinding`, "grafana-dashboards")],
      [release, alloy, named(production, `${RBAC}ClusterRoleBinding`, "enclii-alloy")],
    ])
      expect(r.dependencies).toEqual(expect.arrayContaining([account.urn, binding.urn]));
    // Unexposed, the admin password's login form is the way in, over a port-forward.
    expect(inputs(kps).values.grafana["grafana.ini"].auth).toEqual({ disable_login_form: false });
    expect(inputs(kps).values.grafana["grafana.ini"]["auth.jwt"]).toBeUndefined();
  });

  it("scrapes every service's metrics port, cloudflared, CloudNativePG, PgBouncer, Redis, Longhorn and cert-manager", () => {
    const monitors = [...ofType(production, `${MONITORING}PodMonitor`), ...ofType(production, `${MONITORING}ServiceMonitor`)].map((m) => [
      inputs(m).metadata.name,
      inputs(m).spec.namespaceSelector.matchNames[0],
    ]);
    expect(monitors.sort()).toEqual(
      [
        ["cert-manager", "cert-manager"],
        ["cloudflared", "cloudflared"],
        ["pgbouncer", "enclii-data"],
        ["postgres", "enclii-data"],
        ["redis", "enclii-data"],
        ["longhorn", "longhorn-system"],
        ...["docs-site", "janua", "landing-page", "status-page", "switchyard-api", "switchyard-ui"].map((s) => [s, "enclii-platform"]),
      ].sort(),
    );
    // Every series carries its service, and its pod's track (stable or canary), so a canary's figures split from the stable pods'.
    expect(inputs(named(production, `${MONITORING}PodMonitor`, "switchyard-api")).spec.podMetricsEndpoints).toEqual([
      {
        port: "metrics",
        path: "/metrics",
        relabelings: [
          { action: "replace", targetLabel: "service", replacement: "switchyard-api" },
          { action: "replace", sourceLabels: ["__meta_kubernetes_pod_label_enclii_io_track"], targetLabel: "track" },
        ],
      },
    ]);
    const container = inputs(named(production, "kubernetes:apps/v1:Deployment", "switchyard-api")).spec.template.spec.containers[0];
    expect(container.ports).toContainEqual({ name: "metrics", containerPort: 9464, protocol: "TCP" });
    const redis = inputs(named(production, "kubernetes:apps/v1:StatefulSet", "redis")).spec.template.spec.containers;
    expect(redis.map((c: { name: string }) => c.name)).toEqual(["redis", "auth-sync", "exporter"]);
    expect(redis[2].env[1]).toEqual({ name: "REDIS_PASSWORD_FILE", value: "/config/exporter-passwords.json" });
    // The plan's summary lists them, and the chart's own monitors with etcd's address.
    const summary = describeObservability(production, environment("Pulumi.production.yaml", "production")).join("\n");
    expect(summary).toContain("  scrape targets (18):\n    PodMonitor cert-manager → cert-manager\n");
    expect(summary).toContain("embedded etcd at 203.0.113.10:2381, CoreDNS");
  });

  it("probes every public hostname's health path from outside, for the availability SLO", () => {
    const probes = ofType(production, `${MONITORING}Probe`).map((p) => [
      inputs(p).spec.targets.staticConfig.static,
      inputs(p).spec.jobName,
    ]);
    expect(probes).toContainEqual([["https://api.enclii.io/health"], "availability"]);
    expect(probes).toHaveLength(6);
  });

  it("admits Prometheus on each metrics port alone, and wires traces and availability to exactly their endpoints", () => {
    const api = inputs(named(production, POLICY, "enclii-apps-switchyard-api-network-policy")).spec;
    expect(api.ingress).toContainEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 9464 }],
    });
    expect(api.egress).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "tempo" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 4318 }],
    });
    const status = inputs(named(production, POLICY, "enclii-apps-status-page-network-policy")).spec;
    expect(status.egress).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus-readonly" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 8080 }],
    });
    // The status page may read availability, never reach Prometheus itself.
    expect(JSON.stringify(status.egress)).not.toContain('"prometheus"}');
    const readonly = inputs(named(production, POLICY, "enclii-observability-monitoring-readonly")).spec;
    // Only the status page's pods (the one spec binding availability) reach the proxy.
    expect(readonly.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "enclii-platform" } },
            podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["status-page"] }] },
          },
        ],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
    const tempo = inputs(named(production, POLICY, "enclii-observability-monitoring-tempo")).spec;
    expect(tempo.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(["janua", "switchyard-api", "switchyard-ui"]);
    // Prometheus admits itself (its own and its config reloader's metrics), Grafana and the proxy; nothing else.
    expect(inputs(named(production, POLICY, "enclii-observability-monitoring-prometheus")).spec.ingress).toEqual([
      { from: [expect.anything(), expect.anything()], ports: [{ protocol: "TCP", port: 9090 }] },
      {
        from: [expect.objectContaining({ podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } })],
        ports: [
          { protocol: "TCP", port: 9090 },
          { protocol: "TCP", port: 8080 },
        ],
      },
    ]);
    expect(readonly.egress).toEqual([
      {
        to: [expect.objectContaining({ podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } })],
        ports: [{ protocol: "TCP", port: 9090 }],
      },
    ]);
    const env = inputs(named(production, "kubernetes:apps/v1:Deployment", "status-page")).spec.template.spec.containers[0].env;
    expect(env).toContainEqual({
      name: "AVAILABILITY_PROMETHEUS_URL",
      value: "http://prometheus-readonly.monitoring.svc.cluster.local:8080",
    });
    for (const [namespace, ports] of [
      ["enclii-data", [9187, 9127, 9121]],
      ["cloudflared", [2000]],
    ] as const) {
      const scrape = ofType(production, POLICY).find((p) => ns(p) === namespace && inputs(p).metadata.name === "allow-scrape")!;
      expect(inputs(scrape).spec.ingress[0].ports.map((p: { port: number }) => p.port)).toEqual(ports);
    }
  });

  it("reaches the nodes at their own addresses only, and the internet only for the blackbox exporter's probes", () => {
    const monitoringPolicies = ofType(production, POLICY).filter((p) => ns(p) === "monitoring");
    const prometheus = inputs(named(production, POLICY, "enclii-observability-monitoring-prometheus")).spec;
    expect(prometheus.egress).toContainEqual({
      to: [{ ipBlock: { cidr: "203.0.113.10/32" } }],
      ports: [9100, 10250, 6443, 2381].map((port) => ({ protocol: "TCP", port })),
    });
    const open = monitoringPolicies.filter((p) => JSON.stringify(inputs(p).spec).includes('"0.0.0.0/0"')).map((p) => p.name);
    expect(open).toEqual(["enclii-observability-monitoring-blackbox"]);
    const alloy = inputs(named(production, POLICY, "enclii-observability-monitoring-alloy")).spec;
    expect(alloy.ingress).toEqual([]);
    expect(alloy.egress[0]).toEqual({ to: [{ ipBlock: { cidr: "203.0.113.10/32" } }], ports: [{ protocol: "TCP", port: 6443 }] });
    // node-exporter (host network) is all that runs in the agents namespace: its default-deny, nothing else.
    const agents = ofType(production, POLICY).filter((p) => ns(p) === "monitoring-agents");
    expect(agents.map((p) => inputs(p).metadata.name).sort()).toEqual(["allow-dns", "default-deny"]);
  });

  it("passes the baseline: a default-deny in each monitoring namespace, restricted pods, pinned images", () => {
    const objects = production.resources.flatMap((r) => {
      const o = r.type.startsWith("kubernetes:") ? kubernetesObject(r.type, r.inputs) : undefined;
      return o ? [o] : [];
    });
    expect(checkObjects(objects)).toEqual([]);
    const denies = ofType(production, POLICY)
      .filter((p) => inputs(p).metadata.name === "default-deny")
      .map(ns);
    expect(denies).toEqual(expect.arrayContaining(["monitoring", "monitoring-agents"]));
  });

  it("counts observability's pods and volumes in the capacity check, and still fits the AX41", () => {
    const report = planCapacity(production.resources, environment("Pulumi.production.yaml", "production"));
    expect(report.problems).toEqual([]);
    expect(report.disk.neededGi).toBe(80 + 5 + 50 + 1 + 50 + 20);
    const [node] = report.nodes;
    // Prometheus 500m + Loki 250m + Tempo 200m + Grafana 100m + … on top of what was there before.
    expect(node.requested.cpuMilli).toBeGreaterThan(4_000);
    expect(node.requested.cpuMilli).toBeLessThan(node.allocatable.cpuMilli / 2);
  });

  it("keeps Grafana off the internet unless asked, and its password a secret", () => {
    expect(production.outputs.grafanaUrl).toBe("not exposed (enclii:observability.grafana unset)");
    expect(production.outputs.grafanaAdminPassword).toBe("[secret]");
    expect(ofType(production, "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication")).toEqual([]);
    expect(
      JSON.stringify(
        inputs(
          named(production, "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig", "enclii-tunnel-config"),
        ),
      ),
    ).not.toContain("grafana");
  });
});

describe("Grafana exposed and paging set", () => {
  it("puts Grafana behind a Cloudflare Access application before the tunnel routes to it", () => {
    const app = ofType(exposed, "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication")[0];
    expect(inputs(app)).toMatchObject({
      type: "self_hosted",
      domain: "grafana.enclii.io",
      destinations: [{ type: "public", uri: "grafana.enclii.io" }],
    });
    const policy = ofType(exposed, "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy")[0];
    expect(inputs(policy)).toMatchObject({
      decision: "allow",
      includes: [{ email: { email: "ops@enclii.io" } }, { emailDomain: { domain: "madfam.io" } }],
    });
    const config = named(
      exposed,
      "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
      "enclii-tunnel-config",
    );
    expect(inputs(config).config.ingresses).toContainEqual({
      hostname: "grafana.enclii.io",
      service: "http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local:3000",
      originRequest: { access: expect.objectContaining({ required: true }) },
    });
    const dns = ofType(exposed, "cloudflare:index/dnsRecord:DnsRecord").find((d) => inputs(d).name === "grafana.enclii.io")!;
    for (const r of [config, dns]) expect(r.dependencies, r.name).toContain(app.urn);
    expect(exposed.outputs.grafanaUrl).toBe("https://grafana.enclii.io");
    const grafana = inputs(named(exposed, POLICY, "enclii-observability-monitoring-grafana")).spec;
    expect(grafana.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"]).toBe("cloudflared");
  });

  it("lets in only Access's token for the application: cloudflared requires it, Grafana signs in with it alone", () => {
    const app = ofType(exposed, "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication")[0];
    const rules = inputs(named(exposed, CONFIG, "enclii-tunnel-config")).config.ingresses;
    const grafanaRule = rules.find((r: { hostname?: string }) => r.hostname === "grafana.enclii.io");
    expect(grafanaRule.originRequest.access).toMatchObject({ required: true, teamName: "madfam" });
    expect(grafanaRule.originRequest.access.audTags).toHaveLength(1);
    // No other rule changes.
    expect(rules.filter((r: { originRequest?: unknown }) => r.originRequest).map((r: { hostname: string }) => r.hostname)).toEqual([
      "grafana.enclii.io",
    ]);
    const kps = named(exposed, RELEASE, "enclii-observability-metrics-release");
    expect(kps.dependencies).toContain(app.urn);
    const ini = inputs(kps).values.grafana["grafana.ini"];
    expect(ini["auth.jwt"]).toMatchObject({
      enabled: true,
      header_name: "Cf-Access-Jwt-Assertion",
      email_claim: "email",
      username_claim: "email",
      jwk_set_url: "https://madfam.cloudflareaccess.com/cdn-cgi/access/certs",
      auto_sign_up: true,
    });
    expect(JSON.parse(ini["auth.jwt"].expect_claims)).toMatchObject({ iss: "https://madfam.cloudflareaccess.com" });
    expect(ini.auth).toEqual({ disable_login_form: true });
    expect(ini["auth.basic"]).toEqual({ enabled: false });
    // Access's keys are fetched over HTTPS: Grafana's egress has it when exposed, and not otherwise.
    const https = { to: [{ ipBlock: expect.objectContaining({ cidr: "0.0.0.0/0" }) }], ports: [{ protocol: "TCP", port: 443 }] };
    expect(inputs(named(exposed, POLICY, "enclii-observability-monitoring-grafana")).spec.egress).toContainEqual(https);
    expect(inputs(named(production, POLICY, "enclii-observability-monitoring-grafana")).spec.egress).not.toContainEqual(https);
  });

  it("lets Alertmanager out to the pager over HTTPS, and never writes the routing key anywhere", () => {
    const am = inputs(named(exposed, POLICY, "enclii-observability-monitoring-alertmanager")).spec;
    expect(am.egress[0].ports).toEqual([{ protocol: "TCP", port: 443 }]);
    expect(inputs(named(production, POLICY, "enclii-observability-monitoring-alertmanager")).spec.egress).toEqual([]);
    const written = [...planFiles(exposed).values()].join("\n") + JSON.stringify(exposed.outputs);
    expect(written).not.toContain(CANARY);
    expect(inputs(named(exposed, "kubernetes:core/v1:Secret", "alertmanager-config")).stringData).toEqual({
      "alertmanager.yaml": "[secret]",
    });
  });
});

describe("staging: the lean set, and nothing when switched off", () => {
  it("runs the lean set without Loki or Tempo, with the apps' tracing SDKs off, and still fits its server", () => {
    const charts = ofType(staging, RELEASE).map((r) => inputs(r).chart);
    expect(charts).toEqual(expect.arrayContaining(["kube-prometheus-stack", "prometheus-blackbox-exporter"]));
    expect(charts).not.toEqual(expect.arrayContaining(["loki"]));
    expect(charts.filter((c) => ["loki", "tempo", "alloy"].includes(c))).toEqual([]);
    // Without logs, no Alloy account or ClusterRole; Grafana's account as everywhere.
    expect(
      ofType(staging, ACCOUNT)
        .filter((a) => ns(a) === "monitoring")
        .map((a) => inputs(a).metadata.name),
    ).toEqual(["grafana"]);
    expect(ofType(staging, `${RBAC}ClusterRole`).filter((r) => inputs(r).metadata.name === "enclii-alloy")).toEqual([]);
    const kps = inputs(named(staging, RELEASE, "enclii-observability-metrics-release")).values;
    expect(kps.prometheus.prometheusSpec.resources.requests).toEqual({ cpu: "50m", memory: "512Mi" });
    const env = inputs(named(staging, "kubernetes:apps/v1:Deployment", "janua")).spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "OTEL_SDK_DISABLED", value: "true" });
    expect(describeObservability(staging, environment("Pulumi.staging.yaml", "staging"))[0]).toBe(
      "Observability (lean, namespace monitoring): metrics 7 d / 10 GiB, no logs, no traces",
    );
    expect(planCapacity(staging.resources, environment("Pulumi.staging.yaml", "staging")).problems).toEqual([]);
  });

  it("registers none of it with enclii:observability.enabled false", () => {
    const monitoringish = off.resources.filter(
      (r) =>
        r.type.startsWith(MONITORING) ||
        r.type.startsWith("enclii:observability") ||
        ns(r)?.startsWith("monitoring") ||
        (r.type === "kubernetes:core/v1:Namespace" && inputs(r).metadata.name.startsWith("monitoring")) ||
        (r.type === RELEASE && String(inputs(r).namespace).startsWith("monitoring")),
    );
    expect(monitoringish.map((r) => r.name)).toEqual([]);
    expect(ofType(off, `${RBAC}ClusterRole`).filter((r) => inputs(r).metadata.name === "enclii-alloy")).toEqual([]);
    expect(ofType(off, POLICY).filter((p) => inputs(p).metadata.name === "allow-scrape")).toEqual([]);
    expect(JSON.stringify(ofType(off, POLICY).map(inputs))).not.toContain('"prometheus"');
    const redis = inputs(named(off, "kubernetes:apps/v1:StatefulSet", "redis")).spec.template.spec.containers;
    expect(redis.map((c: { name: string }) => c.name)).toEqual(["redis", "auth-sync"]);
    expect(off.outputs.grafanaAdminPassword).toBeUndefined();
    expect(describeObservability(off, environment("Pulumi.staging.yaml", "staging", OFF))).toEqual([
      "Observability: off (enclii:observability.enabled: false)",
    ]);
    expect(readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8")).toContain("profile: lean");
  });
});
