/**
 * Reboots after OS security updates: kured's chart values per maintenance window and cluster size,
 * its Prometheus gate only with observability, the NetworkPolicy and alert that come with it, the
 * alert through the real promtool, and where its privileged DaemonSet runs.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResource, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { MIRRORED, SCOPES } from "../components/k3s/admissionPolicies";
import { REBOOT_RULES } from "../components/k3s/Kured";
import { ALERT_FILTER, KURED, kuredValues, prometheusKuredPolicy } from "../components/k3s/kuredValues";
import { maintenanceSchema, type MaintenanceWindow } from "../model/config/maintenance";
import { KUBE_SYSTEM_NAMESPACE } from "../model/names";
import { platformRuleGroups } from "../model/observability/platformRules";
import { longestGapDays, REBOOT_PENDING_ALERT, rebootPendingDays, rebootRuleGroups } from "../model/observability/rebootRules";
import { CHARTS, IMAGES } from "../model/pins";
import { EXEMPT_NAMESPACES } from "../policy/objects";
import { promtool } from "../testbed/promtool";
import { find, one, recordResources, requireTool, ROOT, settled, validateObject, type Registered } from "./harness";

const DEFAULT_WINDOW = maintenanceSchema.parse(undefined);
const WEEKEND: MaintenanceWindow = { days: ["sat", "sun"], start: "01:30", end: "04:00", timeZone: "America/Mexico_City" };
const RELEASE = "kubernetes:helm.sh/v3:Release";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const PROMETHEUS_URL = "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090";

describe("kured's chart values (kubereboot/charts charts/kured/values.yaml at kured-6.1.0)", () => {
  it("reboots inside the maintenance window, one node at a time, never forcing a drain that cannot finish", () => {
    expect(kuredValues({ window: DEFAULT_WINDOW, nodeCount: 3, prometheus: false })).toEqual({
      image: { repository: "ghcr.io/kubereboot/kured", tag: "1.23.0" },
      configuration: {
        rebootDays: ["sun"],
        startTime: "03:00",
        endTime: "05:00",
        timeZone: "Europe/Berlin",
        period: "10m",
        concurrency: 1,
        lockAnnotation: "weave.works/kured-node-lock",
        drainTimeout: "600s",
        forceReboot: false,
        rebootSentinel: "/var/run/reboot-required",
        metricsPort: 8080,
      },
      metrics: { create: false },
    });
    expect(IMAGES.kured).toBe("ghcr.io/kubereboot/kured:1.23.0");
  });

  it("follows the window it is given: days, times and zone as kured's flags spell them", () => {
    const c = kuredValues({ window: WEEKEND, nodeCount: 3, prometheus: false }).configuration;
    expect(c).toMatchObject({ rebootDays: ["sat", "sun"], startTime: "01:30", endTime: "04:00", timeZone: "America/Mexico_City" });
  });

  it("with observability, holds reboots while any alert but Watchdog and its own is active, and is scraped", () => {
    const v = kuredValues({ window: DEFAULT_WINDOW, nodeCount: 3, prometheus: true });
    expect(v.configuration).toMatchObject({
      prometheusUrl: PROMETHEUS_URL,
      alertFilterRegexp: "^(Watchdog|NodeRebootPending)$",
    });
    expect(v.metrics).toEqual({ create: true, namespace: "monitoring" });
  });

  it("without observability, has no Prometheus to ask and nothing to scrape it", () => {
    const c = kuredValues({ window: DEFAULT_WINDOW, nodeCount: 3, prometheus: false }).configuration as Record<string, unknown>;
    expect(Object.keys(c).filter((k) => /prometheus|alert/i.test(k))).toEqual([]);
  });

  it("on a single node, holds the reboot before the drain, while Longhorn's instance manager runs there", () => {
    for (const prometheus of [false, true]) {
      expect(kuredValues({ window: DEFAULT_WINDOW, nodeCount: 1, prometheus }).configuration).toMatchObject({
        blockingPodSelector: ["longhorn.io/component=instance-manager"],
      });
      expect(kuredValues({ window: DEFAULT_WINDOW, nodeCount: 3, prometheus }).configuration).not.toHaveProperty("blockingPodSelector");
    }
  });

  it("ignores exactly the alerts it names, which the platform renders; the quorum alerts still hold reboots", () => {
    const filter = new RegExp(ALERT_FILTER);
    const rendered = [
      ...platformRuleGroups({ inClusterPostgres: true, redisMode: "standalone", tunnelReplicas: 2 }),
      ...rebootRuleGroups(DEFAULT_WINDOW),
    ].flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(rendered).toEqual(expect.arrayContaining(["Watchdog", REBOOT_PENDING_ALERT]));
    // kube-prometheus-stack's etcd and node rules (templates/prometheus/rules-1.14/etcd.yaml,
    // kubernetes-system-kubelet.yaml) and ours about nodes and volumes.
    for (const alert of [
      "etcdMembersDown",
      "etcdInsufficientMembers",
      "etcdNoLeader",
      "KubeNodeNotReady",
      "KubeNodeUnreachable",
      "TargetDown",
      "LonghornVolumeDegraded",
      "NodeRebootPendingSoon",
      "XWatchdog",
    ])
      expect(filter.test(alert), alert).toBe(false);
  });
});

describe("Prometheus's extra NetworkPolicy for kured", () => {
  it("admits kured's pods to Prometheus's API and lets Prometheus scrape them, nothing more", async () => {
    const kured = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "app.kubernetes.io/name": "kured" } },
    };
    expect(prometheusKuredPolicy()).toEqual({
      podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [kured], ports: [{ protocol: "TCP", port: 9090 }] }],
      egress: [{ to: [kured], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
  });
});

describe("the Kured component", () => {
  let all: Registered[];
  beforeAll(async () => {
    all = await recordResources();
    const pulumi = await import("@pulumi/pulumi");
    const k8s = await import("@pulumi/kubernetes");
    const { Kured } = await import("../components/k3s/Kured");
    const provider = new k8s.Provider("k", { kubeconfig: "{}" });
    const cluster = new pulumi.ComponentResource("test:index:Cluster", "cluster");
    new Kured("on", { window: WEEKEND, nodeCount: 3, monitoring: true, provider, dependsOn: [cluster] });
    new Kured("off", { window: DEFAULT_WINDOW, nodeCount: 1, monitoring: false, provider, dependsOn: [cluster] });
    await settled();
  });

  it("installs the pinned chart into kube-system as release kured, so its DaemonSet (the lock) is named kured", () => {
    const release = one(all, RELEASE, "on-release");
    expect(release.inputs).toMatchObject({
      name: "kured",
      chart: "kured",
      version: CHARTS.kured.version,
      repositoryOpts: { repo: "https://kubereboot.github.io/charts" },
      namespace: "kube-system",
      atomic: true,
    });
    expect(release.inputs.values).toEqual(kuredValues({ window: WEEKEND, nodeCount: 3, prometheus: true }));
    expect(one(all, RELEASE, "off-release").inputs.values).toEqual(
      kuredValues({ window: DEFAULT_WINDOW, nodeCount: 1, prometheus: false }),
    );
  });

  it("with monitoring, adds Prometheus's policy and the reboot alert in the monitoring namespace; without, neither", async () => {
    const policy = one(all, POLICY, "on-prometheus-policy").inputs;
    expect(policy).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "prometheus-kured", namespace: "monitoring" },
      spec: prometheusKuredPolicy(),
    });
    const rule = one(all, RULE, "on-rules").inputs;
    expect(rule).toEqual({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: REBOOT_RULES, namespace: "monitoring", labels: { "app.kubernetes.io/part-of": "enclii" } },
      spec: { groups: rebootRuleGroups(WEEKEND) },
    });
    await expect(
      validateObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...policy } as never),
    ).resolves.toBeUndefined();
    await expect(validateObject(rule as never)).resolves.toBeUndefined();
    expect(all.filter((r) => r.name.startsWith("off-")).map((r) => r.type)).toEqual([RELEASE]);
  });

  it("registers no Namespace: kube-system is already outside every baseline binding and exempt from the pack", () => {
    expect(find(all, "kubernetes:core/v1:Namespace")).toEqual([]);
    expect(KURED.namespace).toBe(KUBE_SYSTEM_NAMESPACE);
    expect(MIRRORED.exemptNamespaces).toContain(KURED.namespace);
    expect(Object.keys(EXEMPT_NAMESPACES)).toContain(KURED.namespace);
    expect(SCOPES.platform.matchExpressions[0].values).not.toContain(KURED.namespace);
  });
});

describe("the reboot alert", () => {
  it.each([
    [["sun"], 7, 8],
    [["sat", "sun"], 6, 7],
    [["mon", "thu"], 4, 5],
    [["mon", "tue", "wed", "thu", "fri", "sat", "sun"], 1, 2],
  ] as const)("window days %j: at most %i days between windows, so %i days before it fires", (days, gap, pending) => {
    expect(longestGapDays(days)).toBe(gap);
    expect(rebootPendingDays({ ...DEFAULT_WINDOW, days: [...days] })).toBe(pending);
  });

  const file = { "enclii-reboots.yaml": rebootRuleGroups(DEFAULT_WINDOW) };
  /** Five-minute samples (within Prometheus's five-minute lookback), evaluated every five minutes. */
  const unitTest = (series: { series: string; values: string }[], cases: { eval_time: string; fires: boolean }[]) =>
    promtool(file, {
      evaluation_interval: "5m",
      tests: [
        {
          interval: "5m",
          input_series: series,
          alert_rule_test: cases.map((c) => ({
            eval_time: c.eval_time,
            alertname: REBOOT_PENDING_ALERT,
            exp_alerts: c.fires
              ? [
                  {
                    exp_labels: { node: "ax41-1", severity: "warning" },
                    exp_annotations: {
                      summary: "Node ax41-1 has needed a reboot for 8 days: kured has not rebooted it",
                      description: rebootRuleGroups(DEFAULT_WINDOW)[0].rules[0].annotations!.description,
                    },
                  },
                ]
              : [],
          })),
        },
      ],
    });
  const SAMPLES_PER_DAY = 288;
  const required = (pod: string, values: string) => ({ series: `kured_reboot_required{node="ax41-1",pod="${pod}"}`, values });

  it("passes promtool check rules", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = promtool(file);
    expect(r.ok, r.output).toBe(true);
  });

  it("fires once a node has needed its reboot for the whole grace, across kured's pod restarts; not before", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const restart = 4 * SAMPLES_PER_DAY;
    const r = unitTest(
      [required("kured-a", `1x${restart} _x${6 * SAMPLES_PER_DAY}`), required("kured-b", `_x${restart} 1x${6 * SAMPLES_PER_DAY}`)],
      [
        { eval_time: "7d23h", fires: false },
        { eval_time: "8d1h", fires: true },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("starts again after a reboot, and never fires for a node that needs none", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [required("kured-a", `1x${5 * SAMPLES_PER_DAY} 0x12 1x${6 * SAMPLES_PER_DAY}`), required("kured-c", `0x${10 * SAMPLES_PER_DAY}`)],
      [
        { eval_time: "9d", fires: false },
        { eval_time: "10d", fires: false },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });
});

describe("kured in the plans", () => {
  let production: PlanResult;
  let ha: PlanResult;
  let external: PlanResult;
  beforeAll(async () => {
    const plan = (stack: string, file: string, edit: (c: Record<string, string>) => void = () => {}) => {
      const cfg = loadStackConfig(join(ROOT, file));
      edit(cfg.config);
      return runPlan(stack, cfg);
    };
    production = await plan("production", "Pulumi.production.yaml", (c) => {
      c["enclii:maintenance"] = JSON.stringify(WEEKEND);
    });
    ha = await plan("ha", "examples/Pulumi.ha.yaml");
    external = await plan("external", "examples/Pulumi.external.yaml");
  }, 180_000);
  const byName = (r: PlanResult, type: string, name: string): PlanResource => {
    const found = r.resources.filter((x) => x.type === type && x.name === name);
    expect(found, `${type} ${name}`).toHaveLength(1);
    return found[0];
  };
  const values = (r: PlanResult) => byName(r, RELEASE, "enclii-kured-release").inputs.values as any;

  it("production (one node, observability on): the stack's window, held for a person, gated on Prometheus", () => {
    expect(values(production)).toEqual(kuredValues({ window: WEEKEND, nodeCount: 1, prometheus: true }));
    expect(byName(production, POLICY, "enclii-kured-prometheus-policy").inputs.metadata).toEqual({
      name: "prometheus-kured",
      namespace: "monitoring",
    });
    expect((byName(production, RULE, "enclii-kured-rules").inputs.spec as any).groups[0].rules[0].for).toBe("7d");
    // After observability: its CRDs (the chart's ServiceMonitor, the PrometheusRule) and namespace.
    const stack = production.resources.find((r) => r.type === RELEASE && (r.inputs as any).chart === "kube-prometheus-stack")!;
    const monitoring = byName(production, "kubernetes:core/v1:Namespace", "enclii-observability-namespace");
    for (const name of ["enclii-kured-release", "enclii-kured-prometheus-policy"])
      expect(production.resources.find((r) => r.name === name)!.dependencies).toEqual(expect.arrayContaining([stack.urn, monitoring.urn]));
  });

  it("keeps kube-prometheus-stack's etcd and kubelet alerts on and etcd scraped: a member or a node already down holds reboots", () => {
    const v = production.resources.find((r) => r.type === RELEASE && (r.inputs as any).chart === "kube-prometheus-stack")!.inputs
      .values as any;
    expect(v.defaultRules.create).toBe(true);
    expect(v.defaultRules.rules).not.toHaveProperty("etcd");
    expect(v.defaultRules.rules).not.toHaveProperty("kubernetesSystem");
    expect(v.kubeEtcd.enabled).toBe(true);
  });

  it("the HA layout (three servers): drains and reboots one node at a time, gated on Prometheus", () => {
    const c = values(ha).configuration;
    expect(c).not.toHaveProperty("blockingPodSelector");
    expect(c).toMatchObject({ concurrency: 1, forceReboot: false, prometheusUrl: PROMETHEUS_URL });
  });

  it("an environment without observability: kured alone, no Prometheus, no policy or rule in a monitoring namespace it lacks", () => {
    expect(values(external).configuration).not.toHaveProperty("prometheusUrl");
    expect(values(external).metrics).toEqual({ create: false });
    expect(external.resources.filter((r) => r.name.startsWith("enclii-kured-")).map((r) => r.type)).toEqual([RELEASE]);
  });
});
