/**
 * `deploy --canary` and the error-budget gate as the deploy path runs them (automation/control/
 * canary.ts, release.ts): the stack a stand-in (test/controlStack.ts), Prometheus a loopback HTTP
 * server answering the query path's queries from a script, the clock moved by the waits. The
 * judge's rule and the query path against a real Prometheus are test/canary.real.test.ts's.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canaryDeploy, type CanaryRequest } from "../automation/control/canary";
import { loadEnvironment } from "../automation/control/environment";
import { release } from "../automation/control/release";
import { Stop } from "../automation/control/signals";
import { ERROR_OBJECTIVE } from "../model/canary";
import { canaryConfigPath, EXIT, imageConfigPath } from "../model/controlPlane";
import { resultProblems } from "../testbed/contract";
import { fakeOptions, FakeStack } from "./controlStack";
import { ROOT } from "./harness";

const SERVICE = "switchyard-api";
const NEW = "ghcr.io/madfam-io/switchyard-api:1.4.3";
const OLD = "ghcr.io/madfam-io/switchyard-api:1.4.2";
const IMAGE_KEY = imageConfigPath(SERVICE);
const CANARY_KEY = canaryConfigPath(SERVICE);

/** One track's figures as Prometheus would hold them over the window asked for. */
interface Track {
  requests: number;
  errors: number;
  p95Seconds: number;
}
interface Scene {
  canary?: Track;
  stable?: Track;
  firing?: boolean;
  budgetRemaining?: number;
  /** Answer 503 to every track query after the nth (3 a track: requests, errors, p95). */
  downAfter?: number;
}
const HEALTHY = { canary: { requests: 400, errors: 0, p95Seconds: 0.08 }, stable: { requests: 4000, errors: 2, p95Seconds: 0.09 } };

let server: Server;
let url = "";
let scene: Scene = {};
let trackQueries = 0;
const vector = (value?: number) =>
  JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: value === undefined ? [] : [{ metric: {}, value: [0, String(value)] }] },
  });

beforeAll(async () => {
  server = createServer((req, res) => {
    const q = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
    const send = (status: number, body: string) => void res.writeHead(status, { "content-type": "application/json" }).end(body);
    if (q.startsWith("ALERTS")) return send(200, vector(scene.firing ? 1 : undefined));
    if (q.includes("label_replace")) return send(200, vector(scene.budgetRemaining));
    if (scene.downAfter !== undefined && ++trackQueries > scene.downAfter) return send(503, "Service Unavailable");
    const track = q.includes('track="canary"') ? scene.canary : scene.stable;
    if (!track) return send(200, vector());
    send(200, vector(q.includes("_bucket") ? track.p95Seconds : q.includes('=~"5.."') ? track.errors : track.requests));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A fresh stack running OLD, options whose clock moves with every wait, and the scene. */
function setup(s: Scene, extra: { stop?: Stop; onWait?: (n: number) => void } = {}) {
  scene = s;
  trackQueries = 0;
  const stack = new FakeStack("staging", { preview: [{ events: "image-only.preview.jsonl" }], up: [{ events: "image-only.up.jsonl" }] });
  stack.config.set(IMAGE_KEY, OLD);
  let t = Date.parse("2026-12-07T10:00:00Z");
  let waits = 0;
  const o = fakeOptions(stack, {
    now: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
      extra.onWait?.(++waits);
    },
    stop: extra.stop,
  });
  return { stack, o };
}

const request = (over: Partial<CanaryRequest> = {}): CanaryRequest => ({
  environment: "staging",
  service: SERVICE,
  image: NEW,
  services: [SERVICE],
  canary: {
    periodMinutes: 5,
    intervalSeconds: 30,
    replicas: 1,
    minRequests: 100,
    fallback: "abort",
    maxErrorRatioIncrease: 0.001,
    maxP95IncreaseMs: 50,
  },
  policy: { minRequests: 100, errorObjective: ERROR_OBJECTIVE, latencyP95Ms: 200, maxErrorRatioIncrease: 0.001, maxP95IncreaseMs: 50 },
  metrics: true,
  stableReplicas: 3,
  queryPath: { url },
  ...over,
});

const methods = (stack: FakeStack) => stack.calls.map((c) => (c.method.endsWith("Config") ? `${c.method} ${c.args[0]}` : c.method));

describe("deploy --canary", () => {
  it("starts the canary, watches it for the period, then promotes it: the image becomes the service's and the canary goes", async () => {
    const { stack, o } = setup(HEALTHY);
    const res = await canaryDeploy(o, request());
    expect(res).toMatchObject({ status: "deployed", exitCode: EXIT.ok });
    expect(res.deploy?.canary).toMatchObject({ decision: "promote", replicas: 1, share: 0.25, periodSeconds: 300, watchedSeconds: 300 });
    expect(res.deploy?.canary?.canary).toEqual({ requests: 400, errorRatio: 0, p95Ms: 80 });
    expect(resultProblems(JSON.stringify(res))).toEqual([]);
    expect(methods(stack)).toEqual([
      `getConfig ${IMAGE_KEY}`,
      `setConfig ${CANARY_KEY}.image`,
      "preview",
      "up",
      `setConfig ${IMAGE_KEY}`,
      `removeConfig ${CANARY_KEY}`,
      "preview",
      "up",
    ]);
    expect(stack.config.get(IMAGE_KEY)).toBe(NEW);
    expect(stack.callsOf("removeConfig").map((c) => c.args[0])).toEqual([CANARY_KEY]);
    // Progress every 30 s of the 5 minutes, then the history records how it was released.
    expect(o.lines.filter((l) => l.includes("canary ") && l.includes(" of 5m:"))).toHaveLength(10);
    expect(stack.callsOf("up")[1].args[0]).toMatchObject({
      message: expect.stringMatching(/^enclii deploy switchyard-api .*1\.4\.3 \(canary: promoted: canary 0\.00% errors/),
    });
  });

  it.each<[string, Scene, string, number]>([
    ["errors over the objective", { ...HEALTHY, canary: { requests: 400, errors: 8, p95Seconds: 0.08 } }, "errors", 1],
    ["p95 over the objective", { ...HEALTHY, canary: { requests: 400, errors: 0, p95Seconds: 0.35 } }, "latency", 1],
    ["too little traffic", { ...HEALTHY, canary: { requests: 20, errors: 0, p95Seconds: 0.08 } }, "no-traffic", 10],
    ["no canary series", { stable: HEALTHY.stable }, "no-metrics", 10],
    ["the query path going down", { ...HEALTHY, downAfter: 9 }, "unreachable", 2],
  ])("aborts on %s: the canary goes, the service runs what it ran before (exit 14)", async (_, s, cause, polls) => {
    const { stack, o } = setup(s);
    const res = await canaryDeploy(o, request());
    expect(res).toMatchObject({ status: "canary-aborted", exitCode: EXIT.canaryAborted });
    expect(res.deploy?.canary).toMatchObject({ decision: "abort", cause });
    expect(res.message).toContain("was aborted and removed");
    expect(resultProblems(JSON.stringify(res))).toEqual([]);
    expect(stack.config.get(IMAGE_KEY)).toBe(OLD);
    expect(methods(stack).slice(-3)).toEqual([`removeConfig ${CANARY_KEY}`, "preview", "up"]);
    expect(stack.callsOf("setConfig").map((c) => c.args[0])).toEqual([`${CANARY_KEY}.image`]);
    // Errors and latency decide at the first look; the others wait the whole period.
    expect(o.lines.filter((l) => l.includes(" of 5m:"))).toHaveLength(polls - (cause === "unreachable" ? 1 : 0));
  });

  it("never starts a canary it cannot judge: no metrics, or no query path, changes nothing", async () => {
    for (const over of [{ metrics: false }, { queryPath: undefined }, { queryPath: { url: "http://127.0.0.1:9" } }]) {
      const { stack, o } = setup(HEALTHY);
      const res = await canaryDeploy(o, request(over));
      expect(res).toMatchObject({ status: "canary-aborted", exitCode: EXIT.canaryAborted, deploy: { canary: { decision: "abort" } } });
      expect(res.message).toContain("nothing was changed");
      expect(methods(stack)).toEqual([]);
    }
  });

  it("with fallback: plain, deploys plainly when it cannot judge, and says so", async () => {
    const { stack, o } = setup(HEALTHY);
    const res = await canaryDeploy(o, request({ metrics: false, canary: { ...request().canary, fallback: "plain" } }));
    expect(res).toMatchObject({ status: "deployed", deploy: { canary: { decision: "fallback", cause: "no-metrics" } } });
    expect(res.message).toContain("deployed plainly (fallback: plain)");
    expect(methods(stack)).toEqual([`getConfig ${IMAGE_KEY}`, `setConfig ${IMAGE_KEY}`, "preview", "up"]);

    const low = setup({ ...HEALTHY, canary: { requests: 20, errors: 0, p95Seconds: 0.08 } });
    const promoted = await canaryDeploy(low.o, request({ canary: { ...request().canary, fallback: "plain" } }));
    expect(promoted).toMatchObject({ status: "deployed", deploy: { canary: { decision: "fallback", cause: "no-traffic" } } });
    expect(low.stack.config.get(IMAGE_KEY)).toBe(NEW);
  });

  it("never outlives its deploy: a signal during the watch removes the canary", async () => {
    const stop = new Stop(
      () => undefined,
      () => true,
    );
    const { stack, o } = setup(HEALTHY, { stop, onWait: (n) => n === 3 && stop.receive("SIGTERM") });
    const res = await canaryDeploy(o, request());
    expect(res).toMatchObject({
      status: "cancelled",
      exitCode: EXIT.cancelled,
      deploy: { canary: { decision: "abort", cause: "interrupted" } },
    });
    expect(res.message).toContain("the canary was removed");
    expect(methods(stack).slice(-3)).toEqual([`removeConfig ${CANARY_KEY}`, "preview", "up"]);
    expect(stack.config.get(IMAGE_KEY)).toBe(OLD);
  });
});

describe("a signal once the canary is decided", () => {
  it("stops the promotion's update and leaves the decision in the stack file for the next up: no second update", async () => {
    const stop = new Stop(
      () => undefined,
      () => false,
      () => undefined,
    );
    scene = HEALTHY;
    trackQueries = 0;
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: "image-only.up.jsonl" }, { events: "image-only.up.jsonl", during: () => stop.receive("SIGINT") }],
    });
    stack.config.set(IMAGE_KEY, OLD);
    let t = 0;
    const o = fakeOptions(stack, { now: () => new Date(t), sleep: async (ms) => void (t += ms), stop });
    const res = await canaryDeploy(o, request());
    expect(res).toMatchObject({ status: "cancelled", exitCode: EXIT.cancelled });
    expect(res.message).toContain("Pulumi.staging.yaml holds the decision: enclii-infra up --env staging finishes it");
    expect(stack.callsOf("up")).toHaveLength(2);
    expect(stack.config.get(IMAGE_KEY)).toBe(NEW);
  });
});

describe("the error-budget gate", () => {
  const staging = loadEnvironment(ROOT, "staging");
  const args = { env: "staging", service: SERVICE, image: NEW, changed: ["apps/switchyard-api/main.go"], canary: false };

  it("refuses a deploy while the fast-burn alert fires (exit 4), nothing opened", async () => {
    const { stack, o } = setup({ ...HEALTHY, firing: true, budgetRemaining: 40 });
    const res = await release(o, staging, args, new Date(), { ENCLII_PROMETHEUS_URL: url });
    expect(res).toMatchObject({
      status: "budget-exhausted",
      exitCode: EXIT.refused,
      deploy: { gate: { checked: true, allowed: false, fastBurnFiring: true } },
    });
    expect(res.message).toMatch(/^switchyard-api: not deployed: a fast-burn SLO alert is firing .*--force deploys anyway/);
    expect(resultProblems(JSON.stringify(res))).toEqual([]);
    expect(methods(stack)).toEqual([]);
  });

  it("refuses below the service's minimum budget, allows above it", async () => {
    const spent = staging.services.map((s) =>
      s.name === SERVICE ? { ...s, deploy: { ...s.deploy, errorBudget: { minRemainingPercent: 25 } } } : s,
    );
    const low = setup({ ...HEALTHY, budgetRemaining: 10 });
    const refused = await release(low.o, { ...staging, services: spent }, args, new Date(), { ENCLII_PROMETHEUS_URL: url });
    expect(refused).toMatchObject({ status: "budget-exhausted", deploy: { gate: { budgetRemainingPercent: 10 } } });
    const ok = setup({ ...HEALTHY, budgetRemaining: 60 });
    const deployed = await release(ok.o, { ...staging, services: spent }, args, new Date(), { ENCLII_PROMETHEUS_URL: url });
    expect(deployed).toMatchObject({ status: "deployed", deploy: { gate: { checked: true, allowed: true, budgetRemainingPercent: 60 } } });
  });

  it("--force deploys anyway, and the history and the result say what it overrode", async () => {
    const { stack, o } = setup({ ...HEALTHY, firing: true });
    const res = await release(o, staging, { ...args, force: true }, new Date(), { ENCLII_PROMETHEUS_URL: url });
    expect(res).toMatchObject({ status: "deployed", deploy: { forced: ["deployFilter", "error budget"] } });
    expect(stack.callsOf("up")[0].args[0]).toMatchObject({
      message: `enclii deploy switchyard-api ${NEW} (forced past: deployFilter, error budget)`,
    });
  });

  it("without a query path: not checked (and said) in staging; refused in a protected environment", async () => {
    const { o } = setup(HEALTHY);
    const res = await release(o, staging, args, new Date(), {});
    expect(res).toMatchObject({ status: "deployed", deploy: { gate: { checked: false, allowed: true } } });
    const production = loadEnvironment(ROOT, "production");
    const refused = await release(setup(HEALTHY).o, production, { ...args, env: "production" }, new Date(), {});
    expect(refused).toMatchObject({ status: "budget-exhausted", exitCode: EXIT.refused });
    expect(refused.message).toContain("ENCLII_PROMETHEUS_URL");
  });
});
