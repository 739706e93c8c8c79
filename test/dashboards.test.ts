/**
 * The dashboards as the plans register them: one ConfigMap per dashboard with Grafana's sidecar
 * label, one golden-signals dashboard per service spec, and JSON Grafana can load: unique uids
 * and panel ids, panels inside the 24-column grid and never overlapping, every query pointed at a
 * data source the environment provisions. (The PromQL itself is parsed by a real Prometheus in
 * readonly-proxy.real.test.ts.)
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { dashboards, type DashboardService } from "../model/observability/dashboards";
import { DATASOURCES } from "../model/observability/config";
import { ROOT } from "./harness";

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: GridPos;
  datasource: { type: string; uid: string };
  targets: { refId: string; expr: string; datasource: { type: string; uid: string } }[];
}
interface Json {
  uid: string;
  title: string;
  schemaVersion: number;
  editable: boolean;
  panels: Panel[];
}

/** Grafana's limit on a dashboard uid, and the characters it allows. */
const UID = /^[a-zA-Z0-9_-]{1,40}$/;
/** The panel plugins Grafana ships that these dashboards use. */
const PANEL_TYPES = new Set(["timeseries", "stat", "logs"]);
const GRID_COLUMNS = 24;

/** Every structural problem of one dashboard, empty when Grafana can load it as written. */
function problems(d: Json, provisioned: Set<string>): string[] {
  const out: string[] = [];
  if (!UID.test(d.uid)) out.push(`uid ${d.uid}`);
  if (!d.title) out.push("no title");
  if (d.editable !== false) out.push("editable");
  const ids = d.panels.map((p) => p.id);
  if (new Set(ids).size !== ids.length) out.push(`panel ids repeat: ${ids}`);
  d.panels.forEach((p, i) => {
    const g = p.gridPos;
    if (!PANEL_TYPES.has(p.type)) out.push(`${p.title}: panel type ${p.type}`);
    if (g.x < 0 || g.w < 1 || g.x + g.w > GRID_COLUMNS || g.h < 1 || g.y < 0) out.push(`${p.title}: outside the grid ${JSON.stringify(g)}`);
    for (const q of d.panels.slice(0, i)) {
      const o = q.gridPos;
      if (g.x < o.x + o.w && o.x < g.x + g.w && g.y < o.y + o.h && o.y < g.y + g.h) out.push(`${p.title} overlaps ${q.title}`);
    }
    if (p.targets.length === 0) out.push(`${p.title}: no query`);
    const refIds = p.targets.map((t) => t.refId);
    if (new Set(refIds).size !== refIds.length) out.push(`${p.title}: refIds repeat`);
    for (const t of [p, ...p.targets])
      if (!provisioned.has(t.datasource.uid)) out.push(`${p.title}: data source ${t.datasource.uid} is not provisioned`);
    for (const t of p.targets) if (!t.expr.trim()) out.push(`${p.title}: empty query`);
  });
  return out;
}

/** The dashboards' JSON from the plan's ConfigMaps, and the data sources Grafana provisions there. */
function fromPlan(result: PlanResult) {
  const files: Record<string, Json> = {};
  const labels: Record<string, string>[] = [];
  for (const r of result.resources) {
    const i = r.inputs as {
      metadata?: { name: string; namespace: string; labels?: Record<string, string> };
      data?: Record<string, string>;
    };
    if (r.type !== "kubernetes:core/v1:ConfigMap" || !i.metadata?.labels?.grafana_dashboard) continue;
    labels.push({ namespace: i.metadata.namespace, ...i.metadata.labels });
    for (const [file, text] of Object.entries(i.data!)) files[file] = JSON.parse(text);
  }
  const release = result.resources.find((r) => r.name === "enclii-observability-metrics-release")!;
  const values = release.inputs.values as { grafana: { datasources: { "datasources.yaml": { datasources: { uid: string }[] } } } };
  const provisioned = new Set(values.grafana.datasources["datasources.yaml"].datasources.map((d) => d.uid));
  return { files, labels, provisioned };
}

const plans: Record<string, ReturnType<typeof fromPlan>> = {};
beforeAll(async () => {
  for (const [stack, file] of [
    ["production", "Pulumi.production.yaml"],
    ["staging", "Pulumi.staging.yaml"],
  ])
    plans[stack] = fromPlan(await runPlan(stack, loadStackConfig(join(ROOT, file))));
}, 60_000);

describe("dashboards in the plans", () => {
  it("registers the platform, data and edge dashboards and one per service spec, each a labelled ConfigMap in monitoring", () => {
    const { files, labels } = plans.production;
    expect(Object.keys(files).sort()).toEqual([
      "enclii-data.json",
      "enclii-edge.json",
      "enclii-platform.json",
      ...["docs-site", "janua", "landing-page", "status-page", "switchyard-api", "switchyard-ui"].map((s) => `enclii-svc-${s}.json`),
    ]);
    for (const l of labels) expect(l).toMatchObject({ namespace: "monitoring", grafana_dashboard: "1" });
  });

  it("loads as written: unique uids, panels in the grid without overlap, queries on provisioned data sources", () => {
    for (const [stack, { files, provisioned }] of Object.entries(plans)) {
      const uids = Object.values(files).map((d) => d.uid);
      expect(new Set(uids).size, stack).toBe(uids.length);
      for (const [file, d] of Object.entries(files)) expect(problems(d, provisioned), `${stack} ${file}`).toEqual([]);
    }
    // Production reads logs from Loki; staging runs no Loki, so no dashboard asks it for anything.
    expect(plans.production.provisioned).toEqual(new Set(Object.values(DATASOURCES)));
    expect(plans.staging.provisioned).toEqual(new Set([DATASOURCES.prometheus, DATASOURCES.alertmanager]));
    const logs = (stack: string) => Object.values(plans[stack].files).flatMap((d) => d.panels.filter((p) => p.type === "logs"));
    expect(logs("production")).toHaveLength(6);
    expect(logs("staging")).toEqual([]);
  });

  it("shows switchyard-api's latency objective on its latency panel", () => {
    const api = plans.production.files["enclii-svc-switchyard-api.json"];
    expect(api.panels.find((p) => p.title === "Latency")).toMatchObject({ description: "SLO: p95 under 200 ms" });
  });
});

describe("a dashboard per spec", () => {
  const variants: DashboardService[] = [true, false].flatMap((routed) =>
    [true, false].map((scraped) => ({ name: `svc-${routed ? "r" : "n"}${scraped ? "s" : "n"}`, routed, scraped })),
  );

  it("gives a new spec its own dashboard, laid out without overlap whatever it has", () => {
    for (const logs of [true, false]) {
      const all = dashboards({ services: variants, namespace: "enclii-platform", logs, inClusterPostgres: false });
      const provisioned = new Set([DATASOURCES.prometheus, ...(logs ? [DATASOURCES.loki] : [])]);
      for (const v of variants) {
        const d = all[`enclii-svc-${v.name}.json`] as unknown as Json;
        expect(d, v.name).toBeDefined();
        expect(problems(d, provisioned), `${v.name} logs=${logs}`).toEqual([]);
        const titles = d.panels.map((p) => p.title);
        expect(titles.includes("Requests per second"), v.name).toBe(v.scraped);
        expect(titles.includes("Availability (30 days)"), v.name).toBe(v.routed);
        expect(titles.includes("Logs"), v.name).toBe(logs);
      }
    }
  });

  it("finds an overlap when there is one", () => {
    const d = dashboards({ services: variants.slice(0, 1), namespace: "n", logs: false, inClusterPostgres: false })[
      "enclii-svc-svc-rs.json"
    ] as unknown as Json;
    const broken = { ...d, panels: [d.panels[0], { ...d.panels[1], id: 99, gridPos: { ...d.panels[0].gridPos, x: 6 } }] };
    expect(problems(broken, new Set([DATASOURCES.prometheus]))).toEqual([`${d.panels[1].title} overlaps ${d.panels[0].title}`]);
  });
});
