/**
 * The control-plane library against the real Pulumi engine (testbed/engine.ts): the CLI, the
 * Node.js language host and the Kubernetes provider built by `npm run toolchain`, the file backend
 * and passphrase secrets, and for the previews and updates a real API server (testbed/kube.ts)
 * with the fixture program (testbed/engine-fixture), whose URNs are the platform's. The engine's
 * events are kept: the stand-in's logs (testbed/pulumi/events) must have their shape, and
 * `ENCLII_ENGINE_RECORD=1` writes them there (docs/testing.md#the-engine-tests).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../automation/control/deploy";
import { StackMissingError } from "../automation/control/errors";
import { stepsOf } from "../automation/control/events";
import { failure, guardedUp, inspect, previewOp, update, type Options } from "../automation/control/operations";
import { driftOp, historyOp, outputsOp } from "../automation/control/reads";
import type { ControlStack } from "../automation/control/workspace";
import { EXIT, imageConfigPath } from "../model/controlPlane";
import { ENGINE_TOOLS, fixtureCluster, killTree, recording, startEngine, type Engine } from "../testbed/engine";
import { shapeOf, unlike } from "../testbed/engineShapes";
import { startKube, type Kube } from "../testbed/kube";
import { Servers } from "../testbed/servers";
import { EVENTS_DIR, events } from "./controlStack";
import { requireBuilt } from "./harness";

const tools = Object.fromEntries(ENGINE_TOOLS.map((bin) => [bin, requireBuilt(bin)]));
const engineBuilt = ENGINE_TOOLS.every((bin) => tools[bin]);
const clusterBuilt = engineBuilt && ["etcd", "kube-apiserver", "kubectl"].every((bin) => requireBuilt(bin));

const urn = (types: string, name: string) => `urn:pulumi:staging::enclii-infra::enclii:platform:Platform$${types}::${name}`;
const SERVICE = "enclii:apps:Apps$enclii:apps:Service$kubernetes:apps/v1:Deployment";
const API = urn(SERVICE, "enclii-apps-switchyard-api-deployment");
const UI = urn(SERVICE, "enclii-apps-switchyard-ui-deployment");
const REDIS = urn("enclii:data:DataLayer$enclii:data:Redis$kubernetes:apps/v1:StatefulSet", "enclii-data-redis-redis");
const CLUSTER = urn(
  "enclii:data:DataLayer$enclii:data:Postgres$kubernetes:postgresql.cnpg.io/v1:Cluster",
  "enclii-data-postgres-enclii-pg",
);
const IMAGE = (tag: string) => `ghcr.io/madfam-io/switchyard-api:${tag}`;
const SERVICES = ["switchyard-api", "switchyard-ui"];
const TOKEN = "tok-3b8f0c1d9e2a4f56";

let servers: Servers;
let engine: Engine;
let open: ReturnType<typeof recording>;
/** The events of each scenario, by the stand-in log file they stand for. */
const recorded = new Map<string, EngineEvent[]>();
/** Runs with no log file of their own whose steps the stand-in's other logs may take (a forced replacement). */
const alsoReal: EngineEvent[][] = [];

beforeAll(() => {
  servers = new Servers();
  if (engineBuilt) engine = startEngine(servers, tools as Record<(typeof ENGINE_TOOLS)[number], string>);
  if (engineBuilt) open = recording(engine.open);
});
afterAll(async () => {
  await servers.stopAll();
});

function options(extra: Partial<Options> = {}): Options & { lines: string[]; slept: number[] } {
  const lines: string[] = [];
  const slept: number[] = [];
  return { open, root: engine.root, report: (l) => lines.push(l), sleep: async (ms) => void slept.push(ms), lines, slept, ...extra };
}

/** Plain values as the library sets them; secrets go through `engine.setSecret`, never an argument. */
const set = (stack: ControlStack, key: string, value: string) => stack.setConfig(key, { value, secret: false }, key.includes("["));

describe.skipIf(!engineBuilt)("the library on the real Pulumi CLI: file backend, passphrase secrets, no cluster", () => {
  const base = { operation: "up", environment: "dev", stack: "dev" };
  let stack: ControlStack;

  it("says so for a stack the backend does not have, then creates and selects one", async () => {
    await expect(open({ project: "platform", stack: "dev" })).rejects.toThrow(StackMissingError);
    stack = await open({ project: "platform", stack: "dev", create: true });
    expect(readFileSync(join(engine.root, "Pulumi.dev.yaml"), "utf8")).toMatch(/^encryptionsalt: /m);
    expect((await open({ project: "platform", stack: "dev" })).name).toBe("dev");
  });

  it("sets and reads config by path, and a secret only encrypted in the stack file", async () => {
    const key = imageConfigPath("switchyard-api");
    await set(stack, key, IMAGE("1.4.2"));
    engine.setSecret("dev", "fixture:token", TOKEN);
    expect(await stack.getConfig(key, true)).toMatchObject({ value: IMAGE("1.4.2"), secret: false });
    expect(await stack.getConfig("fixture:token")).toMatchObject({ value: TOKEN, secret: true });
    const file = readFileSync(join(engine.root, "Pulumi.dev.yaml"), "utf8");
    expect(file).toContain(`switchyard-api:\n      image: ${IMAGE("1.4.2")}`);
    expect(file).toMatch(/fixture:token:\n {4}secure: v1:/);
    expect(file).not.toContain(TOKEN);
    await stack.removeConfig(key, true);
    // The library tells "no override" from other failures by this wording (deploy.ts currentImage).
    await expect(stack.getConfig(key, true)).rejects.toThrow(/not found/i);
  });

  it("updates, then reads outputs (the secret masked) and history (each update's config and message)", async () => {
    await set(stack, imageConfigPath("switchyard-api"), IMAGE("1.4.3"));
    const runs = open.since();
    const calls = engine.calls().length;
    expect(await guardedUp(stack, options(), base, { message: "enclii deploy switchyard-api 1.4.3" })).toMatchObject({
      status: "ok",
      changes: { create: 2 },
    });
    // The summary the SDK read from the history (showSecrets: false) marks the secret, no value; the one
    // --show-secrets call is `stack output`, which `up` always makes (localWorkspace.js stackOutputs).
    const summary = JSON.stringify((runs()[1].result as { summary: unknown }).summary);
    expect(summary).toContain('"fixture:token":{"secret":true}');
    expect(summary).not.toContain(TOKEN);
    const made = engine.calls().slice(calls);
    expect(made.filter((c) => c[0] === "stack" && c[1] === "history")).toEqual([expect.not.arrayContaining(["--show-secrets"])]);
    expect(made.filter((c) => c.includes("--show-secrets")).map((c) => c.slice(0, 2).join(" "))).toEqual(["stack output"]);
    const outputs = await outputsOp(stack, base);
    expect(outputs.outputs).toEqual({ greeting: "hello", token: "[secret]" });
    const history = await historyOp(stack, base, 5);
    expect(history.history).toMatchObject([
      { kind: "update", result: "succeeded", message: "enclii deploy switchyard-api 1.4.3", image: { "switchyard-api": IMAGE("1.4.3") } },
    ]);
    for (const secret of [TOKEN, engine.passphrase]) expect(JSON.stringify([outputs, history])).not.toContain(secret);
  });

  it("waits out another update holding the backend's lock (ConcurrentUpdateError), then runs", async () => {
    const release = join(engine.root, "release");
    await set(stack, "fixture:holdUntil", release);
    const holder = (await engine.open({ project: "platform", stack: "dev" })).up({ message: "holder" });
    await engine.locked("dev");
    await set(stack, "fixture:greeting", "hi");
    const o = options({
      sleep: async (ms) => {
        o.slept.push(ms);
        writeFileSync(release, "");
        await holder;
      },
    });
    const runs = open.since();
    const res = await guardedUp(stack, o, base, { message: "second" }).finally(() => writeFileSync(release, ""));
    await holder;
    expect(res, res.engineMessage).toMatchObject({ status: "ok", changes: { update: 1 } });
    expect(o.slept).toEqual([5000]);
    // A 409 retry shows two previews: the update that ran followed its own preview, taken after the other writer.
    const ran = runs().map((r) => `${r.method}${r.error ? ` ${(r.error as Error).name}` : ""}`);
    expect(ran).toEqual(["preview", "up ConcurrentUpdateError", "preview", "up"]);
    expect(o.lines).toContain("dev: another update is running; retrying in 5 s (attempt 2 of 5)");
  });

  it("answers busy while a killed update's lock stays, and pulumi cancel removes it", async () => {
    // The program waits for a file that never comes; the lock is taken before it runs.
    await set(stack, "fixture:holdUntil", join(engine.root, "never"));
    const killed = engine.spawnPulumi(["up", "--yes", "--skip-preview", "--stack", "dev"], join(engine.root, "killed.log"));
    await engine.locked("dev");
    killTree(killed.pid!);
    await set(stack, "fixture:greeting", "hello again");
    const o = options();
    const runs = open.since();
    // As the commands answer it (commands.ts `operate`): the thrown BusyError as a result.
    const busy = await guardedUp(stack, o, base, { message: "third" }).catch((err: unknown) => failure(base, err));
    expect(busy).toMatchObject({ status: "busy", exitCode: EXIT.busy });
    expect(o.slept).toEqual([5000, 10000, 20000, 40000]);
    expect(runs().map((r) => r.method)).toEqual(Array(5).fill(["preview", "up"]).flat());
    await engine.cancel("dev");
    expect(engine.locks("dev")).toEqual([]);
    await stack.removeConfig("fixture:holdUntil");
    expect(await guardedUp(stack, options(), base, { message: "third" })).toMatchObject({ status: "ok" });
  });
});

describe.skipIf(!clusterBuilt)("previews and updates of the fixture against a real API server", () => {
  const base = { operation: "up", environment: "staging", stack: "staging" };
  const preview = { ...base, operation: "preview" };
  let kube: Kube;
  let kubectl: (...args: string[]) => string;
  let stack: ControlStack;
  const imageOf = (name: string) => kubectl("get", `deployment/${name}`, "--output=jsonpath={.spec.template.spec.containers[0].image}");

  beforeAll(async () => {
    kube = (await startKube(servers))!;
    kubectl = await fixtureCluster(kube);
    stack = await open({ project: "platform", stack: "staging", create: true });
    engine.setSecret("staging", "fixture:kubeconfig", kube.kubeconfigText);
  });

  it("creates the objects, previewed and guarded", async () => {
    const runs = open.since();
    const res = await guardedUp(stack, options(), base, { message: "create" });
    expect(res, res.engineMessage).toMatchObject({ status: "ok" });
    expect(Object.keys(res.changes ?? {})).toEqual(["create"]);
    expect(imageOf("switchyard-api")).toBe(IMAGE("1.4.2"));
    expect(kubectl("get", "clusters.postgresql.cnpg.io", "--output=name")).toBe("cluster.postgresql.cnpg.io/enclii-pg");
    recorded.set("platform-create.preview.jsonl", runs()[0].events).set("platform-create.up.jsonl", runs()[1].events);
  });

  it("deploys an image: the preview's change under the service is the update's one target", async () => {
    const runs = open.since();
    const res = await deploy(options(), { environment: "staging", service: "switchyard-api", image: IMAGE("1.4.3"), services: SERVICES });
    expect(res, res.engineMessage).toMatchObject({
      status: "deployed",
      changes: { update: 1 },
      deploy: { targets: [API], notApplied: [] },
    });
    expect(imageOf("switchyard-api")).toBe(IMAGE("1.4.3"));
    recorded.set("image-only.preview.jsonl", runs()[0].events).set("image-only.up.jsonl", runs()[1].events);
  });

  it("rolls back an image whose rollout never completes, with the provider's own words", async () => {
    await set(stack, "fixture:failingImage", IMAGE("1.4.4"));
    const runs = open.since();
    const res = await deploy(options(), { environment: "staging", service: "switchyard-api", image: IMAGE("1.4.4"), services: SERVICES });
    expect(res, res.engineMessage).toMatchObject({ status: "rolled-back", exitCode: EXIT.rolledBack });
    expect(res.engineMessage).toContain("'switchyard-api' timed out waiting to be Ready");
    expect(runs().map((r) => `${r.method}${r.error ? " failed" : ""}`)).toEqual(["preview", "up failed", "up"]);
    expect(imageOf("switchyard-api")).toBe(IMAGE("1.4.3"));
    recorded.set("image-rollout-timeout.up.jsonl", runs()[1].events).set("image-restore.up.jsonl", runs()[2].events);
  });

  it("drift: a Deployment scaled behind Pulumi's back, found on the refresh's outputs event", async () => {
    kubectl("scale", "deployment/switchyard-ui", "--replicas=3");
    const runs = open.since();
    const res = await driftOp(stack, options(), base);
    expect(res, res.engineMessage).toMatchObject({ status: "drift", exitCode: EXIT.drift });
    expect(res.drift).toEqual([{ urn: UI, op: "update", properties: expect.arrayContaining(["spec.replicas"]) }]);
    // The real engine's shape (docs/control-plane.md): the pre-event says `refresh` and carries no diff.
    const pre = runs()[0].events.find((e) => e.resourcePreEvent?.metadata.urn === UI)?.resourcePreEvent?.metadata;
    expect(pre).toMatchObject({ op: "refresh" });
    expect([pre?.diffs ?? [], Object.keys(pre?.detailedDiff ?? {})]).toEqual([[], []]);
    recorded.set("drift.refresh.jsonl", runs()[0].events);
    kubectl("scale", "deployment/switchyard-ui", "--replicas=1");
    expect(await driftOp(stack, options(), base)).toMatchObject({ status: "no-drift", drift: [] });
  });

  it("deploys with a change pending elsewhere: only the service's resources are targeted", async () => {
    // Not replicas: since the drift test scaled it, kubectl owns spec.replicas, and another value
    // from Pulumi is a server-side apply conflict (docs/control-plane.md#checked-against-the-real-engine).
    const ui = "ghcr.io/madfam-io/switchyard-ui:1.4.3";
    await set(stack, imageConfigPath("switchyard-ui"), ui);
    const runs = open.since();
    const res = await deploy(options(), { environment: "staging", service: "switchyard-api", image: IMAGE("1.4.5"), services: SERVICES });
    expect(res, res.engineMessage).toMatchObject({ status: "deployed", deploy: { targets: [API], notApplied: [UI] } });
    expect([imageOf("switchyard-api"), imageOf("switchyard-ui")]).toEqual([IMAGE("1.4.5"), "ghcr.io/madfam-io/switchyard-ui:1.4.2"]);
    recorded.set("image-with-pending.preview.jsonl", runs()[0].events);
    expect(await guardedUp(stack, options(), base, { message: "the rest" })).toMatchObject({ status: "ok", changes: { update: 1 } });
    const unchanged = open.since();
    expect(await previewOp(stack, options(), preview)).toMatchObject({ status: "ok", changes: {} });
    recorded.set("no-change.preview.jsonl", unchanged()[0].events);
  });

  it("a replacement (create, then delete): refused naming the property, run when allowed", async () => {
    await set(stack, "fixture:databaseCluster", "enclii-pg-restored");
    const runs = open.since();
    const res = await previewOp(stack, options(), preview);
    expect(res).toMatchObject({ status: "refused", exitCode: EXIT.refused, violations: [{ urn: CLUSTER, op: "replace" }] });
    expect(res.violations?.[0].because).toContain("metadata.name");
    expect(stepsOf(runs()[0].events).find((s) => s.urn === CLUSTER)?.ops).toEqual(["create-replacement", "replace", "delete-replaced"]);
    recorded.set("replace-database-cluster.preview.jsonl", runs()[0].events);
    const allowed = await guardedUp(stack, options({ allow: new Set([CLUSTER]) }), base, { message: "restore" });
    expect(allowed, allowed.engineMessage).toMatchObject({ status: "ok", changes: { replace: 1 } });
    expect(kubectl("get", "clusters.postgresql.cnpg.io", "--output=name")).toBe("cluster.postgresql.cnpg.io/enclii-pg-restored");
  });

  it("a delete-before-replace (the Redis volume claim template): its preview fails in the provider, refused all the same", async () => {
    await set(stack, "fixture:redisStorageGi", "2");
    const runs = open.since();
    const res = await previewOp(stack, options(), preview);
    expect(res).toMatchObject({ status: "refused", exitCode: EXIT.refused, violations: [{ urn: REDIS, op: "replace" }] });
    expect(res.violations?.[0].because).toContain("spec.volumeClaimTemplates[0].spec.resources.requests.storage");
    // The provider's dry-run create (its Create in a preview) meets the old StatefulSet, not yet deleted.
    expect(res.engineMessage).toContain('StatefulSet.apps "redis" is invalid: spec: Forbidden');
    expect(stepsOf(runs()[0].events).find((s) => s.urn === REDIS)?.ops).toEqual(["delete-replaced", "replace", "create-replacement"]);
    recorded.set("replace-volume-claim-template.preview.jsonl", runs()[0].events);
    // Allowed, the guard has nothing to say, and a failed preview is never followed by an update.
    const allowed = await guardedUp(stack, options({ allow: new Set([REDIS]) }), base, { message: "x" }).catch((err) => failure(base, err));
    expect(allowed).toMatchObject({ status: "failed", exitCode: EXIT.failed });
    expect(allowed.engineMessage).toContain("Forbidden");
    expect(runs().filter((r) => r.method === "up")).toEqual([]);
    // What an operator runs instead (the Automation API's `up` is `pulumi up --skip-preview`): delete, then create.
    await stack.up({ message: "operator" });
    expect(kubectl("get", "statefulset/redis", "--output=jsonpath={.spec.volumeClaimTemplates[0].spec.resources.requests.storage}")).toBe(
      "2Gi",
    );
  });

  it("protect: the engine fails the preview; the library refuses (exit 4) naming it, whatever --allow says", async () => {
    await set(stack, "enclii:protect", "true");
    await stack.up({ message: "protect" });
    await set(stack, "fixture:databaseCluster", "enclii-pg-2");
    const runs = open.since();
    const res = await previewOp(stack, options(), preview);
    expect(res).toMatchObject({ status: "refused", exitCode: EXIT.refused, violations: [{ urn: CLUSTER, op: "replace" }] });
    expect(res.message).toContain(`replace ${CLUSTER} (forced by metadata`);
    expect(res.message).toContain("[protected]");
    expect(res.engineMessage).toContain("marked for protection");
    expect(runs()[0].error).toBeDefined();
    recorded.set("replace-protected.preview.jsonl", runs()[0].events);
    const allowed = await guardedUp(stack, options({ allow: new Set([CLUSTER]) }), base, { message: "x" });
    expect(allowed.status).toBe("refused");
    expect(runs().filter((r) => r.method === "up")).toEqual([]);

    await set(stack, "fixture:databaseCluster", "enclii-pg-restored");
    await set(stack, "fixture:database", "false");
    const deleting = open.since();
    const refused = await previewOp(stack, options(), preview);
    expect(refused).toMatchObject({ status: "refused", violations: [{ urn: CLUSTER, op: "delete" }] });
    expect(refused.engineMessage).toContain("because it is protected");
    recorded.set("delete-protected.preview.jsonl", deleting()[0].events);
  });

  it("a deletion of what holds data, unprotected: refused by the guard alone", async () => {
    await set(stack, "enclii:protect", "false");
    await set(stack, "fixture:database", "true");
    await stack.up({ message: "unprotect" });
    await set(stack, "fixture:database", "false");
    const runs = open.since();
    const res = await previewOp(stack, options(), preview);
    expect(res).toMatchObject({
      status: "refused",
      violations: [{ urn: CLUSTER, op: "delete", because: ["it is no longer in the program"] }],
    });
    expect(runs()[0].error).toBeUndefined();
    recorded.set("platform-delete.preview.jsonl", runs()[0].events);
  });

  it("a forced replacement (`replace`, as rebuild-first-server asks): replaced whether its inputs changed or not", async () => {
    await set(stack, imageConfigPath("switchyard-api"), IMAGE("1.4.9"));
    const runs = open.since();
    // Previewed: one with changed inputs, one without. Updated: only the unchanged one, since a
    // changed Deployment re-created under a new field manager meets the old one's fields (a
    // server-side apply conflict), which says nothing about the engine's steps.
    const found = await inspect(stack, options(), { replace: [API, UI] });
    expect(found.failed).toBeUndefined();
    expect(await update(stack, options(), { total: 2, message: "forced", replace: [UI] })).toMatchObject({ replace: 1, update: 1 });
    const [previewed, updated] = runs().map((r) => r.events);
    for (const u of [API, UI]) expect(stepsOf(previewed).find((s) => s.urn === u)?.ops).toContain("replace");
    expect(stepsOf(updated).find((s) => s.urn === UI)?.ops).toContain("replace");
    alsoReal.push(previewed, updated);
  });

  it("the stand-in's event logs have the shape of the real engine's events", () => {
    const secrets = [TOKEN, engine.passphrase, /token: (\S+)/.exec(kube.kubeconfigText)![1]];
    for (const [file, real] of recorded) {
      const text = real.map((e) => JSON.stringify(e)).join("\n");
      for (const secret of secrets) expect(text.includes(secret), `${file} carries a secret`).toBe(false);
      if (process.env.ENCLII_ENGINE_RECORD) writeFileSync(join(EVENTS_DIR, file), `${text}\n`);
      expect(shapeOf(events(file)), file).toEqual(shapeOf(real));
    }
    // The logs with no twin here (hcloud, the tenants project): each resource steps, and each log
    // ends, as some resource and some run of the real engine did.
    const others = readdirSync(EVENTS_DIR).filter((f) => f.endsWith(".jsonl") && !recorded.has(f));
    expect(others.length).toBeGreaterThan(0);
    expect(unlike(Object.fromEntries(others.map((f) => [f, events(f)])), [...recorded.values(), ...alsoReal])).toEqual([]);
  });
});
