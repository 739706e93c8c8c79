/**
 * A real Prometheus (Debian's) and the read-only nginx in front of it, on free local ports, for
 * the proxy and dashboard tests. Prometheus runs with its lifecycle and admin APIs switched on, so
 * the proxy is what keeps them out of reach.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { readonlyNginxConf } from "../components/observability/readonlyProxy";
import type { RuleGroup } from "../model/observability/slo";
import { waitFor, type Proc, type Servers } from "./servers";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Running {
  proc: Proc;
  url: string;
}

async function ready(url: string, what: string): Promise<void> {
  await waitFor(what, async () => ((await fetch(url)).ok ? true : undefined));
}

/**
 * Prometheus with these rule files loaded and no scrape targets; ready when it answers /-/ready.
 * `openMetrics`: series written into its data directory first (`promtool tsdb create-blocks-from
 * openmetrics`), for queries over a past it never scraped. Rules can write after them only when
 * the last sample is not in the future (the head refuses samples older than its newest block).
 */
export async function startPrometheus(servers: Servers, rules: Record<string, RuleGroup[]>, openMetrics?: string): Promise<Running> {
  const dir = servers.tempDir("prometheus");
  if (openMetrics !== undefined) {
    writeFileSync(join(dir, "series.om"), openMetrics);
    const r = spawnSync("promtool", ["tsdb", "create-blocks-from", "openmetrics", "--quiet", "series.om", "data"], {
      cwd: dir,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`promtool could not write the series: ${r.stdout}${r.stderr}`);
  }
  const files = Object.keys(rules);
  for (const [name, groups] of Object.entries(rules)) writeFileSync(join(dir, name), stringify({ groups }));
  writeFileSync(join(dir, "prometheus.yml"), stringify({ global: { evaluation_interval: "15s" }, rule_files: files }));
  const port = await freePort();
  const proc = servers.spawn(
    [
      "prometheus",
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-lifecycle",
      "--web.enable-admin-api",
    ],
    dir,
    join(dir, "prometheus.log"),
  );
  const url = `http://127.0.0.1:${port}`;
  await ready(`${url}/-/ready`, "Prometheus to be ready");
  return { proc, url };
}

/** nginx with the rendered read-only configuration, in front of `upstream` (host:port). */
export async function startReadonlyProxy(servers: Servers, upstream: string): Promise<Running> {
  const dir = servers.tempDir("nginx");
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), readonlyNginxConf({ listenPort: port, upstream }));
  // Workers stay root here, where the temp dir is root's; in the pod the image runs all of nginx as its own user.
  const proc = servers.spawn(
    ["nginx", "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off; user root;"],
    dir,
    join(dir, "nginx.log"),
    "SIGQUIT",
  );
  const url = `http://127.0.0.1:${port}`;
  await ready(`${url}/healthz`, "nginx to be ready");
  return { proc, url };
}
