/**
 * The status page's read-only path to Prometheus, for real: nginx with the rendered configuration
 * in front of Debian's Prometheus, which runs with its lifecycle and admin APIs on. Queries pass;
 * every write, admin and lifecycle call is refused and Prometheus keeps running; a hung Prometheus
 * (SIGSTOP) costs a request the proxy's read timeout, then answers again. The plans' rules load into
 * that Prometheus and every dashboard query parses there.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import type { RuleGroup } from "../model/observability/slo";
import { startPrometheus, startReadonlyProxy, type Running } from "../testbed/prometheus";
import { Servers, hang, waitFor } from "../testbed/servers";
import { ROOT, requireTool } from "./harness";

const servers = new Servers();
const present = requireTool("prometheus") && requireTool("nginx", "nginx-light");
let prometheus: Running;
let proxy: Running;
const plan: {
  rules: Record<string, RuleGroup[]>;
  dashboards: Record<string, { panels: { targets: { expr: string; datasource: { type: string } }[] }[] }>;
} = {
  rules: {},
  dashboards: {},
};

beforeAll(async () => {
  const result = await runPlan("production", loadStackConfig(join(ROOT, "Pulumi.production.yaml")));
  for (const r of result.resources) {
    const inputs = r.inputs as {
      metadata: { name: string; labels?: Record<string, string> };
      spec?: { groups: RuleGroup[] };
      data?: Record<string, string>;
    };
    if (r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule") plan.rules[`${inputs.metadata.name}.yaml`] = inputs.spec!.groups;
    if (r.type === "kubernetes:core/v1:ConfigMap" && inputs.metadata.labels?.grafana_dashboard)
      for (const [file, text] of Object.entries(inputs.data!)) plan.dashboards[file] = JSON.parse(text);
  }
  if (!present) return;
  prometheus = await startPrometheus(servers, plan.rules);
  proxy = await startReadonlyProxy(servers, prometheus.url.replace("http://", ""));
}, 120_000);
afterAll(() => servers.stopAll(), 60_000);

const call = (url: string, init?: RequestInit) => fetch(url, init).then(async (r) => ({ status: r.status, body: await r.text() }));

describe("read-only Prometheus proxy (nginx + Prometheus)", () => {
  it("answers instant and range queries", async () => {
    if (!present) return;
    const q = await call(`${proxy.url}/api/v1/query?query=${encodeURIComponent("vector(1)")}`);
    expect(q.status).toBe(200);
    expect(JSON.parse(q.body)).toMatchObject({ status: "success", data: { resultType: "vector" } });
    const now = Math.floor(Date.now() / 1000);
    const range = await call(`${proxy.url}/api/v1/query_range?query=up&start=${now - 300}&end=${now}&step=60`);
    expect(range.status).toBe(200);
  });

  it("refuses writes, admin and lifecycle calls, and Prometheus keeps running", async () => {
    if (!present) return;
    const refused: [string, RequestInit?][] = [
      ["/-/quit", { method: "POST" }],
      ["/-/reload", { method: "POST" }],
      ["/api/v1/admin/tsdb/delete_series?match[]=up", { method: "POST" }],
      ["/api/v1/admin/tsdb/snapshot", { method: "POST" }],
      ["/api/v1/query", { method: "POST", body: "query=vector(1)", headers: { "content-type": "application/x-www-form-urlencoded" } }],
      ["/api/v1/write", { method: "POST", body: "x" }],
      ["/api/v1/status/config"],
      ["/api/v1/query/../../-/quit", { method: "POST" }],
      ["/api/v1/query%2F..%2F..%2F-%2Fquit", { method: "POST" }],
    ];
    for (const [path, init] of refused) expect((await call(`${proxy.url}${path}`, init)).status, path).toBe(403);
    // The same call straight to Prometheus would have stopped it: it is still there.
    expect((await call(`${prometheus.url}/-/ready`)).status).toBe(200);
    expect(prometheus.proc.child.exitCode).toBeNull();
  });

  it("gives up on a hung Prometheus after its read timeout, and answers again once it runs", async () => {
    if (!present) return;
    await hang(prometheus.proc.pid, "Prometheus");
    try {
      const hung = await call(`${proxy.url}/api/v1/query?query=vector(1)`);
      expect(hung.status).toBe(504);
    } finally {
      process.kill(prometheus.proc.pid, "SIGCONT");
    }
    await waitFor("Prometheus to answer through the proxy again", async () =>
      (await call(`${proxy.url}/api/v1/query?query=vector(1)`)).status === 200 ? true : undefined,
    );
  }, 60_000);
});

describe("rules and dashboards in a real Prometheus", () => {
  it("loads every rule group of the production plan and fires the Watchdog", async () => {
    if (!present) return;
    const rules = JSON.parse((await call(`${prometheus.url}/api/v1/rules`)).body) as { data: { groups: { name: string }[] } };
    const expected = Object.values(plan.rules).flatMap((groups) => groups.map((g) => g.name));
    expect(rules.data.groups.map((g) => g.name).sort()).toEqual(expected.sort());
    await waitFor("the Watchdog to fire", async () => {
      const alerts = JSON.parse((await call(`${prometheus.url}/api/v1/alerts`)).body) as {
        data: { alerts: { labels: { alertname: string }; state: string }[] };
      };
      return alerts.data.alerts.some((a) => a.labels.alertname === "Watchdog" && a.state === "firing") ? true : undefined;
    });
  }, 90_000);

  it("parses every PromQL query of every dashboard", async () => {
    if (!present) return;
    const queries = Object.entries(plan.dashboards).flatMap(([file, d]) =>
      d.panels.flatMap((p) => p.targets.filter((t) => t.datasource.type === "prometheus").map((t) => [file, t.expr] as const)),
    );
    expect(queries.length).toBeGreaterThan(40);
    for (const [file, expr] of queries) {
      const r = await call(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      expect(r.status, `${file}: ${expr}: ${r.body}`).toBe(200);
    }
  });
});
