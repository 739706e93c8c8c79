/**
 * Least privilege in observability, from the pure pieces up: the accounts Grafana and Alloy run
 * as and what their roles grant, the charts' values that hand them those accounts (RBAC off, no
 * Secrets watched, no host paths, restricted), Grafana signing people in with Cloudflare Access's
 * token alone when exposed, Tempo's receivers, the NetworkPolicies' node addresses, and the
 * tunnel's rule that requires Access for Grafana.
 */
import type * as k8sNs from "@pulumi/kubernetes";
import type * as cloudflareNs from "@pulumi/cloudflare";
import { beforeAll, describe, expect, it } from "vitest";
import { alloyValues, tempoValues } from "../components/observability/chartValues";
import { grafanaValues } from "../components/observability/grafanaValues";
import { monitoringPolicies, type MonitoringPolicyArgs } from "../components/observability/network";
import { describeIssues, fieldPath } from "../model/config/issues";
import { ALLOY_ACCOUNT, GRAFANA_ACCOUNT } from "../model/observability/accounts";
import { OBSERVABILITY_KEY, observabilitySchema, resolveObservability, type Observability } from "../model/observability/config";
import { CHARTS } from "../model/pins";
import { expectedAccess } from "../model/leastPrivilege";
import { one, recordResources, settled, type Registered } from "./harness";

const GRAFANA = { allowedEmails: ["ops@enclii.io"], teamName: "enclii" };
const settings = (raw: object): Observability => resolveObservability(observabilitySchema.parse(raw), 64, "enclii.io")!;
const unexposed = settings({});
const exposed = settings({ grafana: GRAFANA });
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const grafana = (o: Observability, accessAudience?: string) =>
  grafanaValues({ o, grafanaSecret: "grafana-admin", grafanaUrl: o.grafana && `https://${o.grafana.hostname}`, accessAudience }) as any;

const problems = (raw: object) => {
  const result = observabilitySchema.safeParse(raw);
  return result.success
    ? []
    : describeIssues(observabilitySchema, result.error.issues, (path) => `${OBSERVABILITY_KEY}${path.length ? "." : ""}${fieldPath(path)}`);
};

describe("the accounts", () => {
  it("gives Grafana's account ConfigMaps in monitoring to read, and nothing else", () => {
    expect(GRAFANA_ACCOUNT).toEqual({
      name: "grafana",
      namespace: "monitoring",
      scope: "namespace",
      role: "grafana-dashboards",
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
    });
  });

  it("gives Alloy's account pods, their logs and namespaces to read, cluster-wide, and no Secret", () => {
    expect(ALLOY_ACCOUNT).toEqual({
      name: "alloy",
      namespace: "monitoring",
      scope: "cluster",
      role: "enclii-alloy",
      rules: [{ apiGroups: [""], resources: ["pods", "pods/log", "namespaces"], verbs: ["get", "list", "watch"] }],
    });
    expect(JSON.stringify([GRAFANA_ACCOUNT, ALLOY_ACCOUNT])).not.toMatch(/secrets|\*/);
  });

  it("records both in the RBAC matrix: no Secret anywhere, Alloy lists namespaces", () => {
    const grafanaRow = expectedAccess("monitoring/grafana")!;
    const alloyRow = expectedAccess("monitoring/alloy")!;
    for (const row of [grafanaRow, alloyRow])
      for (const check of ["secrets get", "secrets list", "secrets watch"] as const) expect(row[check]).toBe("none");
    expect(Object.entries(grafanaRow).filter(([, a]) => a !== "none")).toEqual([]);
    expect(Object.entries(alloyRow).filter(([, a]) => a !== "none")).toEqual([["namespaces list", "all"]]);
  });

  it("runs Alloy in the restricted monitoring namespace, apart from node-exporter's privileged one", () => {
    expect(CHARTS.alloy.namespace).toBe("monitoring");
  });
});

describe("Grafana's values", () => {
  it("runs as our account with the chart's RBAC off, its sidecar watching ConfigMaps in monitoring only", () => {
    const v = grafana(unexposed);
    expect(v.rbac).toEqual({ create: false });
    expect(v.serviceAccount).toEqual({ create: false, name: "grafana" });
    expect(v.automountServiceAccountToken).toBe(true);
    expect(v.sidecar.dashboards).toMatchObject({ enabled: true, searchNamespace: ["monitoring"], resource: "configmap" });
    expect(v.sidecar.datasources).toEqual({ enabled: false });
  });

  it("provisions its data sources from values: Prometheus, Alertmanager, and Loki and Tempo where they run", () => {
    const uids = (o: Observability) =>
      grafana(o).datasources["datasources.yaml"].datasources.map((d: { uid: string; url: string }) => [d.uid, d.url]);
    expect(uids(unexposed)).toEqual([
      ["prometheus", "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"],
      ["alertmanager", "http://kube-prometheus-stack-alertmanager.monitoring.svc.cluster.local:9093"],
      ["loki", "http://loki.monitoring.svc.cluster.local:3100"],
      ["tempo", "http://tempo.monitoring.svc.cluster.local:3200"],
    ]);
    expect(uids(settings({ logs: false, traces: false }))).toEqual([
      ["prometheus", "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"],
      ["alertmanager", "http://kube-prometheus-stack-alertmanager.monitoring.svc.cluster.local:9093"],
    ]);
  });

  it("exposed, signs people in with Access's token alone: JWT on, the login form and basic auth off", () => {
    const ini = grafana(exposed, AUD)["grafana.ini"];
    expect(ini["auth.jwt"]).toEqual({
      enabled: true,
      header_name: "Cf-Access-Jwt-Assertion",
      email_claim: "email",
      username_claim: "email",
      jwk_set_url: "https://enclii.cloudflareaccess.com/cdn-cgi/access/certs",
      expect_claims: `{"aud":["${AUD}"],"iss":"https://enclii.cloudflareaccess.com"}`,
      auto_sign_up: true,
    });
    expect(ini.auth).toEqual({ disable_login_form: true });
    expect(ini["auth.basic"]).toEqual({ enabled: false });
    expect(ini.users).toEqual({ allow_sign_up: false, auto_assign_org_role: "Editor" });
    expect(ini.server).toEqual({ root_url: "https://grafana.enclii.io" });
  });

  it("unexposed, keeps the admin password's login form for the port-forward, and no JWT", () => {
    const ini = grafana(unexposed)["grafana.ini"];
    expect(ini.auth).toEqual({ disable_login_form: false });
    expect(ini["auth.jwt"]).toBeUndefined();
    expect(ini["auth.basic"]).toBeUndefined();
    expect(ini.users).toEqual({ allow_sign_up: false });
  });

  it("never installs plugins from the internet, exposed or not", () => {
    for (const v of [grafana(unexposed), grafana(exposed, AUD)]) expect(v["grafana.ini"].plugins).toEqual({ preinstall_disabled: true });
  });
});

describe("the team name", () => {
  it("is required with Grafana exposed, and must be the bare team name", () => {
    expect(problems({ grafana: { allowedEmails: ["ops@enclii.io"] } })).toEqual([`${OBSERVABILITY_KEY}.grafana.teamName: is required`]);
    expect(problems({ grafana: { ...GRAFANA, teamName: "enclii.cloudflareaccess.com" } })).toEqual([
      `${OBSERVABILITY_KEY}.grafana.teamName: must be the Zero Trust team name alone, the <team> of <team>.cloudflareaccess.com (lowercase letters, digits and '-')`,
    ]);
    expect(problems({ grafana: GRAFANA })).toEqual([]);
    expect(exposed.grafana?.teamName).toBe("enclii");
  });
});

describe("Alloy's and Tempo's values", () => {
  it("runs Alloy restricted, as our account, reading logs through the API with no host mount", () => {
    const v = alloyValues(exposed) as any;
    expect(v.rbac).toEqual({ create: false });
    expect(v.serviceAccount).toEqual({ create: false, name: "alloy" });
    expect(v.global.podSecurityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 473,
      runAsGroup: 473,
      fsGroup: 473,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(v.alloy.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(v.alloy.mounts).toEqual({
      varlog: false,
      dockercontainers: false,
      extra: [{ name: "storage", mountPath: "/var/lib/alloy/data" }],
    });
    expect(v.controller.volumes.extra).toEqual([{ name: "storage", emptyDir: {} }]);
    expect(v.alloy.storagePath).toBe("/var/lib/alloy/data");
    expect(v.alloy.enableReporting).toBe(false);
    expect(v.alloy.configMap.content).toContain('loki.source.kubernetes "pods"');
    expect(v.alloy.configMap.content).not.toMatch(/local\.file_match|\/var\/log/);
  });

  it("leaves Tempo listening on OTLP only: the chart's Jaeger receivers deleted", () => {
    const receivers = (tempoValues(exposed, "longhorn") as any).tempo.receivers;
    expect(Object.keys(receivers)).toEqual(["jaeger", "otlp"]);
    expect(receivers.jaeger).toBeNull();
    expect(receivers.otlp).toEqual({ protocols: { grpc: { endpoint: "0.0.0.0:4317" }, http: { endpoint: "0.0.0.0:4318" } } });
  });
});

describe("monitoring's egress", () => {
  const NODES = ["10.0.1.10/32", "10.0.1.11/32"];
  const args = (over: Partial<MonitoringPolicyArgs> = {}): MonitoringPolicyArgs => ({
    nodeCidrs: NODES,
    appMetricsPorts: [],
    tracingServices: [],
    availabilityReaders: [],
    grafanaExposed: false,
    logs: true,
    traces: true,
    paging: false,
    ...over,
  });
  const ipBlocks = (policies: object) => JSON.stringify(policies).match(/"cidr":"[^"]+"/g) ?? [];

  it("reaches the API server, kubelets, node-exporter and etcd at the nodes' addresses, not anywhere", () => {
    const p = monitoringPolicies(args()) as any;
    const toNodes = { to: NODES.map((cidr) => ({ ipBlock: { cidr } })) };
    expect(p.prometheus.egress).toContainEqual({
      ...toNodes,
      ports: [9100, 10250, 6443, 2381].map((port) => ({ protocol: "TCP", port })),
    });
    for (const piece of ["grafana", "kube-api-clients", "operator", "alloy"])
      expect(p[piece].egress, piece).toContainEqual({ ...toNodes, ports: [{ protocol: "TCP", port: 6443 }] });
    // The internet only for the blackbox exporter's probes, unexposed and without paging.
    expect(
      Object.entries(p)
        .filter(([, s]) => JSON.stringify(s).includes('"0.0.0.0/0"'))
        .map(([n]) => n),
    ).toEqual(["blackbox"]);
    expect(new Set(ipBlocks(p))).toEqual(new Set(['"cidr":"0.0.0.0/0"', ...NODES.map((c) => `"cidr":"${c}"`)]));
  });

  it("lets Grafana out to HTTPS for Access's keys when exposed, Alertmanager when paging, and nothing else new", () => {
    const p = monitoringPolicies(args({ grafanaExposed: true, paging: true })) as any;
    expect(
      Object.entries(p)
        .filter(([, s]) => JSON.stringify(s).includes('"0.0.0.0/0"'))
        .map(([n]) => n),
    ).toEqual(["alertmanager", "grafana", "blackbox"]);
    expect(p.grafana.egress.at(-1)).toEqual({
      to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } }],
      ports: [{ protocol: "TCP", port: 443 }],
    });
  });

  it("lets Alloy reach the API server and Loki only, and nothing reach Alloy; Loki admits it in monitoring", () => {
    const p = monitoringPolicies(args()) as any;
    expect(p.alloy).toEqual({
      podSelector: { matchLabels: { "app.kubernetes.io/name": "alloy" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [
        { to: NODES.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: "TCP", port: 6443 }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "loki" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 3100 }],
        },
      ],
    });
    expect(p.loki.ingress[0].from[0]).toEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
      podSelector: { matchLabels: { "app.kubernetes.io/name": "alloy" } },
    });
    expect(Object.keys(monitoringPolicies(args({ logs: false })))).not.toContain("alloy");
  });
});

describe("the tunnel's rule for Grafana", () => {
  let all: Registered[];
  beforeAll(async () => {
    all = await recordResources();
    const cloudflare: typeof cloudflareNs = await import("@pulumi/cloudflare");
    const k8s: typeof k8sNs = await import("@pulumi/kubernetes");
    const { Tunnel } = await import("../components/edge/Tunnel");
    const grafanaRoute = {
      hostname: "grafana.enclii.io",
      service: { namespace: "monitoring", name: "kube-prometheus-stack-grafana", port: 3000 },
    };
    const apiRoute = { hostname: "api.enclii.io", service: { namespace: "enclii-platform", name: "switchyard-api", port: 8080 } };
    new Tunnel("edge", {
      stack: "production",
      accountId: "0123456789abcdef0123456789abcdef",
      zoneId: "fedcba9876543210fedcba9876543210",
      domain: "enclii.io",
      routes: [grafanaRoute, apiRoute],
      replicas: 2,
      accessRequired: [{ hostname: "grafana.enclii.io", teamName: "enclii", audience: AUD }],
      cloudflareProvider: new cloudflare.Provider("cf", { apiToken: "t" }),
      k8sProvider: new k8s.Provider("k8s", { kubeconfig: "k" }),
    });
    await settled();
  });

  it("requires Access's token of the application on Grafana's rule, and changes no other rule", () => {
    const config = one(all, "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig", "edge-config");
    expect(config.inputs.config.ingresses).toEqual([
      { hostname: "api.enclii.io", service: "http://switchyard-api.enclii-platform.svc.cluster.local:8080" },
      {
        hostname: "grafana.enclii.io",
        service: "http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local:3000",
        originRequest: { access: { required: true, teamName: "enclii", audTags: [AUD] } },
      },
      { service: "http_status:404" },
    ]);
  });
});
