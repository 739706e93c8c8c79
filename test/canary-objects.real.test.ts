/**
 * A canary's objects on a real kube-apiserver (docs/services.md#canary): staging planned with and
 * without a canary of switchyard-api, its Deployments, Service, budget, autoscaler and PodMonitor
 * applied by server-side apply under the in-cluster admission policies. The server's own label
 * selection shows the Service reaching both tracks' pods and the canary's selector only its own;
 * the stable Deployment is updated from its rendering before tracks, with the canary and without,
 * and never refused for its immutable selector. Skipped locally until `npm run toolchain` has built
 * etcd, kube-apiserver and kubectl; in CI a missing binary fails.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planFiles } from "../automation/files";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { admissionPolicies } from "../components/k3s/admissionPolicies";
import { APPS_NAMESPACE, TRACK_LABEL } from "../model/names";
import { MONITORING_NAMESPACE } from "../model/observability/config";
import { FIELD_MANAGER, Resources, admitWorkloads, applyOne, applyStack, installCrds, refOf } from "../testbed/clusterApply";
import { KUBE_TOOLS } from "../testbed/clusterCheck";
import type { KubeObject, StackObjects } from "../testbed/clusterObjects";
import { startKube, type Kube } from "../testbed/kube";
import { Servers } from "../testbed/servers";
import { ROOT, requireBuilt } from "./harness";

const SERVICE = "switchyard-api";
const CANARY_IMAGE = "ghcr.io/madfam-io/switchyard-api:1.5.0";
const ADMISSION = "admissionregistration.k8s.io/v1";
const at = (kind: string, name = SERVICE, namespace = APPS_NAMESPACE) => `manifests/${namespace}/${kind}-${name}.yaml`;
const STABLE = at("deployment");
const CANARY = at("deployment", `${SERVICE}-canary`);
/** The service's objects beside its Deployments, as the plan writes them. */
const REST = [at("serviceaccount"), at("service"), at("poddisruptionbudget"), at("horizontalpodautoscaler")];
const POD_MONITOR = at("podmonitor", SERVICE, MONITORING_NAMESPACE);
const NAMESPACES = [APPS_NAMESPACE, MONITORING_NAMESPACE].map((ns) => at("namespace", ns, "_cluster"));

/** Staging's manifests as `npm run plan` writes them, with or without a canary of switchyard-api (the image alone, as deploy writes it). */
async function manifests(canary: boolean): Promise<Map<string, KubeObject>> {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.staging.yaml"));
  const services = JSON.parse(cfg.config["enclii:services"]);
  if (canary) services[SERVICE] = { ...services[SERVICE], canary: { image: CANARY_IMAGE } };
  cfg.config["enclii:services"] = JSON.stringify(services);
  const files = planFiles(await runPlan("staging", cfg));
  return new Map([...files].filter(([path]) => path.startsWith("manifests/")).map(([path, text]) => [path, parse(text) as KubeObject]));
}

type Labels = Record<string, string>;
type Workload = KubeObject & { spec: { selector: { matchLabels: Labels }; template: { metadata: { labels: Labels }; spec: object } } };
const asWorkload = (o: KubeObject | undefined) => {
  if (!o) throw new Error("not rendered");
  return o as Workload;
};
const selectorText = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

// Each missing binary is named (and in CI each one fails the run).
const built = KUBE_TOOLS.map((b) => requireBuilt(b)).every((p) => p !== undefined);

describe.skipIf(!built)("a canary on a real kube-apiserver", () => {
  const servers = new Servers();
  const stop = () => servers.killAllNow();
  let kube: Kube;
  let resources: Resources;
  let on: Map<string, KubeObject>;
  let off: Map<string, KubeObject>;
  const path = (o: KubeObject) => resources.path(o);
  const get = async (o: KubeObject) => (await kube.api("GET", await path(o))).body;
  const apply = (o: KubeObject) => applyOne(kube, resources, "canary", o);
  const podNames = async (labels: Labels) => {
    const r = await kube.api("GET", `/api/v1/namespaces/${APPS_NAMESPACE}/pods?labelSelector=${encodeURIComponent(selectorText(labels))}`);
    return (r.body.items as KubeObject[]).map((p) => p.metadata.name).sort();
  };

  beforeAll(async () => {
    // An interrupted run must not leave etcd and kube-apiserver behind.
    process.once("exit", stop);
    const starting = startKube(servers);
    // One plan after another: the plan runner's state is global.
    on = await manifests(true);
    off = await manifests(false);
    const started = await starting;
    if (!started) throw new Error("startKube found no binaries, though requireBuilt did");
    kube = started;
    resources = new Resources(kube);
    await installCrds(kube);
    const setup: StackObjects = {
      stack: "canary",
      releases: [],
      objects: [
        ...admissionPolicies().flatMap(({ policy, bindings }) => [
          { apiVersion: ADMISSION, kind: "ValidatingAdmissionPolicy", ...policy },
          ...bindings.map((b) => ({ apiVersion: ADMISSION, kind: "ValidatingAdmissionPolicyBinding", ...b.binding })),
        ]),
        ...NAMESPACES.map((p) => on.get(p)!),
      ].map((object) => ({ source: "canary", object: object as KubeObject })),
    };
    const applied = await applyStack(kube, resources, setup);
    expect(applied.filter((a) => a.refused).map((a) => `${a.ref}: ${a.refused}`)).toEqual([]);
  });
  afterAll(async () => {
    process.off("exit", stop);
    await servers.stopAll();
  });

  it("renders a canary Deployment only with the override, and the stable Deployment the same with it and without", () => {
    expect(off.has(CANARY)).toBe(false);
    expect(on.get(STABLE)).toEqual(off.get(STABLE));
    expect(asWorkload(on.get(CANARY)).spec.template.spec).toMatchObject({ containers: [{ image: CANARY_IMAGE }] });
  });

  it("updates the stable Deployment from before tracks and stores the canary beside it, everything as rendered; admits both tracks' pods", async () => {
    // What runs today: the same Deployment without the track label on its pods.
    const before = structuredClone(asWorkload(off.get(STABLE)));
    delete before.spec.template.metadata.labels[TRACK_LABEL];
    expect((await apply(before)).refused).toBeUndefined();
    const objects = [STABLE, CANARY, ...REST, POD_MONITOR].map((p) => on.get(p)!);
    const applied = [];
    for (const o of objects) applied.push(await apply(o));
    expect(applied.map((a) => [a.ref, a.refused ?? "stored", a.lost])).toEqual(objects.map((o) => [refOf(o), "stored", []]));
    const pods = await admitWorkloads(kube, {
      stack: "canary",
      releases: [],
      objects: objects.map((object) => ({ source: "canary", object })),
    });
    expect(pods.map((p) => [p.ref, p.refused ?? "admitted", p.warnings])).toEqual([
      [`Deployment ${APPS_NAMESPACE}/${SERVICE}`, "admitted", []],
      [`Deployment ${APPS_NAMESPACE}/${SERVICE}-canary`, "admitted", []],
    ]);
    // The PodMonitor as the server holds it copies the pod's track into the series.
    expect((await get(on.get(POD_MONITOR)!)).spec.podMetricsEndpoints[0].relabelings).toContainEqual({
      action: "replace",
      sourceLabels: ["__meta_kubernetes_pod_label_enclii_io_track"],
      targetLabel: "track",
    });
  });

  it("selects both tracks' pods by the Service's selector as the server holds it, and only the canary's by the canary's selector", async () => {
    const stable = asWorkload(await get(on.get(STABLE)!));
    const canary = asWorkload(await get(on.get(CANARY)!));
    // The pods each Deployment's ReplicaSet would create (there is no controller here), from the templates the server holds.
    for (const [name, d] of [
      ["stable-pod", stable],
      ["canary-pod", canary],
    ] as const) {
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: APPS_NAMESPACE, labels: d.spec.template.metadata.labels },
        spec: d.spec.template.spec,
      };
      const r = await kube.api("POST", `/api/v1/namespaces/${APPS_NAMESPACE}/pods?fieldManager=${FIELD_MANAGER}`, pod);
      expect([name, r.status, r.body?.message]).toEqual([name, 201, undefined]);
    }
    const service = (await get(on.get(at("service"))!)).spec.selector as Labels;
    expect(await podNames(service)).toEqual(["canary-pod", "stable-pod"]);
    expect(await podNames(canary.spec.selector.matchLabels)).toEqual(["canary-pod"]);
    // The stable selector is the name alone, so it matches the canary's pods too: the canary's own
    // ReplicaSet owns them (a controller adopts only pods nobody owns), and the autoscaler averages over both.
    expect(await podNames(stable.spec.selector.matchLabels)).toEqual(["canary-pod", "stable-pod"]);
  });

  it("updates the stable Deployment with the canary gone, its selector untouched; a selector with the track is refused as immutable", async () => {
    const stable = asWorkload(off.get(STABLE));
    const updated = await apply(stable);
    expect([updated.refused, updated.lost]).toEqual([undefined, []]);
    const removed = await kube.api("DELETE", await path(on.get(CANARY)!));
    expect(removed.status).toBe(200);
    expect((await get(stable)).spec.selector).toEqual({ matchLabels: { "app.kubernetes.io/name": SERVICE } });
    // The control: had the stable selector gained the track, the update would have been refused and Pulumi would replace the Deployment.
    const moved = structuredClone(stable);
    moved.spec.selector.matchLabels[TRACK_LABEL] = "stable";
    const refused = await kube.api("PATCH", `${await path(moved)}?fieldManager=${FIELD_MANAGER}`, moved, "application/apply-patch+yaml");
    expect(refused.status).toBe(422);
    expect(refused.body.message).toMatch(/spec\.selector: Invalid value: .*field is immutable/);
  });
});
