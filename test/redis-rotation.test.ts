/**
 * Rotating the Redis password, as registered (docs/data.md#how-the-redis-password-rotates): the
 * Redis component in each phase under mocks (which password each Secret holds, the names, the
 * check Job only in overlap, the pod templates never changing), then the whole program through
 * the plan runner (the order clients get the new password in, the apps that roll, the baseline).
 * The scripts run for real in test/redis-rotation.real.test.ts.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { planMocks } from "../automation/mocks";
import { runPlan, type PlanResource, type PlanResult } from "../automation/plan";
import { secretPlaceholder } from "../automation/placeholders";
import { loadStackConfig } from "../automation/stackFile";
import { REDIS_POD_PATHS, type RedisMode } from "../components/data/redisPods";
import {
  CHECK_DEADLINE_S,
  redisAuthSyncProbes,
  redisAuthSyncScript,
  redisEndpoints,
  redisPasswordCheckScript,
} from "../components/data/redisRotation";
import { OBS_PORTS } from "../model/observability/config";
import type { Generations, Rotations, RotationState } from "../model/rotation";
import { kubernetesObject } from "../policy/policies";
import { checkObjects } from "../policy/rules";
import { ROOT, find, one, recordResources, requireTool, settled, shellcheck, validateObject, type Registered } from "./harness";

const SECRET = "kubernetes:core/v1:Secret";
const SET = "kubernetes:apps/v1:StatefulSet";
const JOB = "kubernetes:batch/v1:Job";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SINCE = "2026-12-07T03:00:00Z";

/** Each phase a rotation passes through, from a stack made before rotations existed. */
const PHASES: Record<string, Generations> = {
  "settled at 0": { current: 0 },
  "overlap 0 → 1": { current: 1, previous: 0 },
  "settled at 1": { current: 1 },
  "overlap 1 → 2": { current: 2, previous: 1 },
};
const sha256 = (p: string) => createHash("sha256").update(p).digest("hex");

let all: Registered[];
/** The Redis component of `phase` in `mode` under mocks: its resources, by name relative to the component's. */
type Phase = { of(type: string, name: string): Registered; all: Registered[]; password(g: number): string };
const registered = new Map<string, Phase>();
const key = (mode: RedisMode, phase: string) => `${mode}-${Object.keys(PHASES).indexOf(phase)}`;

beforeAll(async () => {
  all = await recordResources();
  const k8s = await import("@pulumi/kubernetes");
  const { Redis } = await import("../components/data/Redis");
  const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
  for (const mode of ["standalone", "sentinel"] as const)
    for (const [phase, generations] of Object.entries(PHASES))
      new Redis(key(mode, phase), {
        namespace: "enclii-data",
        appsNamespace: "enclii-platform",
        mode,
        storageGi: 5,
        storageClass: "longhorn",
        protect: false,
        exporter: { resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } } },
        generations,
        provider,
      });
  await settled();
  for (const mode of ["standalone", "sentinel"] as const)
    for (const phase of Object.keys(PHASES)) {
      const prefix = `${key(mode, phase)}-`;
      const mine = all.filter((r) => r.name.startsWith(prefix));
      registered.set(key(mode, phase), {
        all: mine,
        of: (type, name) => one(mine, type, `${prefix}${name}`),
        password: (g) => {
          // What the mocks made it: the plan's mocks are deterministic by name.
          const { name, inputs } = one(mine, PASSWORD, `${prefix}password${g === 0 ? "" : `-g${g}`}`);
          return (planMocks().newResource({ type: PASSWORD, name, inputs, custom: true }) as unknown as { state: { result: string } }).state
            .result;
        },
      });
    }
});

describe.each<RedisMode>(["standalone", "sentinel"])("the Redis component in each phase (%s)", (mode) => {
  const at = (phase: string) => registered.get(key(mode, phase))!;

  it.each(Object.entries(PHASES))("%s: one password per generation in play, under its generation's name", (phase, g) => {
    const names = find(at(phase).all, PASSWORD).map((r) => r.name.slice(key(mode, phase).length + 1));
    const expected = [g.current, ...(g.previous === undefined ? [] : [g.previous])].map((n) => (n === 0 ? "password" : `password-g${n}`));
    expect(names.sort()).toEqual(expected.sort());
  });

  it.each(Object.entries(PHASES))(
    "%s: servers accept the current password and the previous one, and use the oldest among themselves",
    (phase, g) => {
      const p = at(phase);
      const data = p.of(SECRET, "config").inputs.stringData as Record<string, string>;
      const current = p.password(g.current);
      const accepted = [current, ...(g.previous === undefined ? [] : [p.password(g.previous)])];
      const internal = accepted[accepted.length - 1];
      const rules = `on ${accepted.map((a) => `#${sha256(a)}`).join(" ")} ~* &* +@all`;
      expect(data.password).toBe(internal);
      expect(data["client-password"]).toBe(current);
      expect(data.auth).toBe(`${internal}\n${rules}\n`);
      expect(data["redis.conf"]).toContain(`\nuser default ${rules}\n`);
      expect(data["redis.conf"]).toContain(`\nmasterauth "${internal}"\n`);
      expect(JSON.parse(data["exporter-passwords.json"])).toEqual(
        Object.fromEntries((mode === "sentinel" ? [6379, 26379] : [6379]).map((port) => [`redis://localhost:${port}`, internal])),
      );
      if (mode === "sentinel") {
        expect(data["sentinel.conf"]).toContain(`\nuser default ${rules}\n`);
        expect(data["sentinel.conf"]).toContain(`\nsentinel auth-pass enclii ${internal}\n`);
        expect(data["sentinel.conf"]).toContain(`\nsentinel sentinel-pass ${internal}\n`);
      }
      // Clients always hold the current password; in overlap they get it once the check Job has passed (below).
      const app = p.of(SECRET, "app-secret").inputs.stringData as Record<string, string>;
      expect(app.REDIS_PASSWORD).toBe(current);
      expect(app.REDIS_URL).toContain(`:${current}@`);
    },
  );

  it.each(Object.entries(PHASES))("%s: a check Job only in overlap, run with the new password from the Secret", (phase, g) => {
    const jobs = find(at(phase).all, JOB);
    if (g.previous === undefined) return expect(jobs).toEqual([]);
    expect(jobs.map((j) => j.name)).toEqual([`${key(mode, phase)}-password-check-g${g.current}`]);
    const { metadata, spec } = jobs[0].inputs;
    expect(metadata).toMatchObject({
      name: `redis-password-check-g${g.current}`,
      namespace: "enclii-data",
      annotations: { "pulumi.com/replaceUnready": "true" },
    });
    expect(spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: CHECK_DEADLINE_S });
    const [container] = spec.template.spec.containers;
    expect(container.command).toEqual(["sh", "-c", redisPasswordCheckScript(mode)]);
    expect(container.env).toEqual([
      { name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "redis-config", key: "client-password" } } },
    ]);
  });

  it.each(Object.entries(PHASES))("%s: no password in a pod template or the Job, only in Secrets", (phase, g) => {
    const p = at(phase);
    const passwords = [g.current, ...(g.previous === undefined ? [] : [g.previous])].map((n) => p.password(n));
    for (const r of [...find(p.all, SET), ...find(p.all, JOB)])
      for (const password of passwords) expect(JSON.stringify(r.inputs), r.name).not.toContain(password);
  });

  it("never changes a pod template: a rotation changes Secrets only, and no server restarts", () => {
    const templates = Object.keys(PHASES).map((phase) =>
      JSON.stringify(find(at(phase).all, SET).map((s) => [s.inputs.metadata.name, s.inputs.spec])),
    );
    expect(new Set(templates).size).toBe(1);
  });

  it("runs the auth-sync sidecar beside each server, and the exporter on a password file it reloads", () => {
    const p = at("settled at 0");
    for (const set of find(p.all, SET)) {
      const role = set.inputs.metadata.name === "redis" ? "redis" : "sentinel";
      const containers = set.inputs.spec.template.spec.containers as any[];
      const sync = containers.find((c) => c.name === "auth-sync");
      expect(sync.command).toEqual(["sh", "-c", redisAuthSyncScript(role, REDIS_POD_PATHS, OBS_PORTS.redisExporter)]);
      expect(sync.volumeMounts).toEqual([
        { name: "config", mountPath: "/config", readOnly: true },
        { name: "work", mountPath: "/work" },
      ]);
      expect(sync.livenessProbe.exec.command).toEqual(redisAuthSyncProbes(REDIS_POD_PATHS).alive);
      const exporter = containers.find((c) => c.name === "exporter");
      expect(exporter.env).toEqual([
        { name: "REDIS_ADDR", value: `redis://localhost:${role === "redis" ? 6379 : 26379}` },
        { name: "REDIS_PASSWORD_FILE", value: "/config/exporter-passwords.json" },
      ]);
    }
  });
});

it("renders no exporter password file, and no reload, without an exporter", async () => {
  const { redisConfigFiles } = await import("../components/data/redisPods");
  expect(Object.keys(redisConfigFiles("sentinel", { current: "a", previous: "b" }, REDIS_POD_PATHS))).not.toContain(
    "exporter-passwords.json",
  );
  expect(redisAuthSyncScript("redis", REDIS_POD_PATHS)).not.toContain("reload");
});

describe("the scripts", () => {
  it("are shellcheck-clean as POSIX sh (busybox's in the image)", () => {
    if (!requireTool("shellcheck")) return;
    const paths = REDIS_POD_PATHS;
    for (const script of [
      redisAuthSyncScript("redis", paths),
      redisAuthSyncScript("redis", paths, OBS_PORTS.redisExporter),
      redisAuthSyncScript("sentinel", paths, OBS_PORTS.redisExporter),
      redisPasswordCheckScript("standalone"),
      redisPasswordCheckScript("sentinel"),
      redisAuthSyncProbes(paths).alive[2],
    ])
      expect(shellcheck(script, "sh")).toBe("");
  });

  it("check every pod by its stable name, and never take a password as an argument", () => {
    expect(redisEndpoints("standalone")).toEqual(["redis-0.redis-headless.enclii-data.svc.cluster.local:6379"]);
    expect(redisEndpoints("sentinel")).toHaveLength(6);
    for (const script of [redisAuthSyncScript("sentinel", REDIS_POD_PATHS), redisPasswordCheckScript("sentinel")]) {
      // redis-cli reads REDISCLI_AUTH and stdin; no -a.
      expect(script).not.toMatch(/redis-cli[^\n]* -a /);
    }
  });
});

interface Planned {
  result: PlanResult;
  byName(type: string, name: string): PlanResource;
  ofType(type: string): PlanResource[];
}

async function plan(stack: string, file: string, redis?: RotationState): Promise<Planned> {
  const cfg = loadStackConfig(join(ROOT, file));
  for (const k of cfg.secretKeys) cfg.config[k] = secretPlaceholder(k, cfg.config);
  if (redis) cfg.config["enclii:rotations"] = JSON.stringify({ redis } satisfies Rotations);
  const result = await runPlan(stack, cfg);
  const ofType = (type: string) => result.resources.filter((r) => r.type === type);
  return {
    result,
    ofType,
    byName(type, name) {
      const found = ofType(type).filter((r) => r.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type} ${name}, found ${found.length}`);
      return found[0];
    },
  };
}

describe.each([
  { stack: "production", file: "Pulumi.production.yaml" },
  { stack: "ha", file: "examples/Pulumi.ha.yaml" },
])("the whole $stack program in overlap 0 → 1", ({ stack, file }) => {
  let before: Planned;
  let overlap: Planned;
  let settledAt1: Planned;
  beforeAll(async () => {
    before = await plan(stack, file);
    overlap = await plan(stack, file, { generation: 1, since: SINCE, phase: "overlap" });
    settledAt1 = await plan(stack, file, { generation: 1, since: SINCE, phase: "settled" });
  });

  it("hands clients the new password only after the check Job, which runs only after the config Secret has it", () => {
    const job = overlap.byName(JOB, "enclii-data-redis-password-check-g1");
    const config = overlap.byName(SECRET, "enclii-data-redis-config");
    expect(job.dependencies).toContain(config.urn);
    expect(job.dependencies).toContain(overlap.byName(SET, "enclii-data-redis-redis").urn);
    expect(overlap.byName(SECRET, "enclii-data-redis-app-secret").dependencies).toContain(job.urn);
    // The apps' pods are children of Apps, registered only once Apps is, which waits for the whole
    // data layer (its dependsOn): the Secret with the new password and the Job before it included.
    const apps = overlap.byName("enclii:apps:Apps", "enclii-apps");
    expect(apps.dependencies).toEqual(expect.arrayContaining([job.urn, overlap.byName(SECRET, "enclii-data-redis-app-secret").urn]));
  });

  it("rolls exactly the apps that read the Redis password, once, in the overlap", () => {
    const generation = (p: Planned, name: string) =>
      ((p.byName(DEPLOYMENT, name).inputs.spec as any).template.metadata.annotations ?? {})["enclii.dev/generation-redis"];
    for (const svc of ["janua", "switchyard-api"]) {
      expect(generation(before, `enclii-apps-${svc}-deployment`), svc).toBeUndefined();
      expect(generation(overlap, `enclii-apps-${svc}-deployment`), svc).toBe("1");
      // Settling changes nothing the apps read: they do not roll again.
      expect(generation(settledAt1, `enclii-apps-${svc}-deployment`), svc).toBe("1");
    }
    expect(generation(overlap, "enclii-apps-docs-site-deployment")).toBeUndefined();
  });

  it("keeps the Job within the workload baseline and the Kubernetes schema, allowed to reach every Redis and Sentinel pod", async () => {
    const objects = overlap.result.resources.flatMap((r) => kubernetesObject(r.type, r.inputs) ?? []);
    expect(checkObjects(objects).map((v) => `${v.rule}: ${v.object}: ${v.message}`)).toEqual([]);
    const job = overlap.byName(JOB, "enclii-data-redis-password-check-g1");
    await expect(validateObject(job.inputs as { apiVersion: string; kind: string })).resolves.toBeUndefined();
    // enclii-data lets every pod in it reach every other (and nothing else does here).
    const sameNamespace = overlap.byName("kubernetes:networking.k8s.io/v1:NetworkPolicy", "enclii-data-allow-same-namespace").inputs.spec;
    expect(sameNamespace).toEqual({
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    });
  });

  it("keeps generation 0's names, so a stack from before rotations sees its password and Secrets unchanged", () => {
    expect(before.ofType(PASSWORD).filter((r) => r.name.startsWith("enclii-data-redis"))).toHaveLength(1);
    expect(before.byName(PASSWORD, "enclii-data-redis-password")).toBeDefined();
    expect(before.ofType(JOB).filter((r) => r.name.includes("redis"))).toEqual([]);
    expect(settledAt1.ofType(JOB).filter((r) => r.name.includes("redis"))).toEqual([]);
    expect(
      settledAt1
        .ofType(PASSWORD)
        .filter((r) => r.name.startsWith("enclii-data-redis"))
        .map((r) => r.name),
    ).toEqual(["enclii-data-redis-password-g1"]);
  });
});
