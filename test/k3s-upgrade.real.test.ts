/**
 * The k3s upgrade's drain and uncordon scripts (components/k3s/upgrade.ts) against a real
 * kube-apiserver and the real kubectl (testbed/kube.ts), through a `k3s` shim that runs kubectl
 * with the admin kubeconfig, as `k3s kubectl` does on the first server. There are no kubelets or
 * controllers, so pods never run: their phase is set through the status subresource, and so is
 * the PodDisruptionBudget's, as the disruption controller would compute it for one healthy pod
 * and minAvailable 1 (no disruption allowed). The API server then refuses the eviction with a 429
 * and no Retry-After (pkg/registry/core/pod/storage/eviction.go checkAndDecrement); a budget whose
 * status was never computed gets a 429 with Retry-After 10 s, which client-go retries ten times
 * before kubectl sees it. A pod no budget covers is deleted at once when its grace period is 0 or it
 * has finished (pkg/registry/core/pod/strategy.go CheckGracefulDelete; a zero grace period is an
 * immediate delete in k8s.io/apiserver's registry/generic/registry/store.go
 * updateForGracefulDeletionAndFinalizers), which is what a drain without a kubelet can wait for.
 * Skipped locally until `npm run toolchain` has built etcd, kube-apiserver and kubectl.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderDrainScript, renderUncordonScript } from "../components/k3s/upgrade";
import { maintenanceSchema } from "../model/config/maintenance";
import { KUBE_TOOLS } from "../testbed/clusterCheck";
import { startKube, type Kube } from "../testbed/kube";
import { Servers } from "../testbed/servers";
import { toolPath } from "../testbed/toolchain";
import { requireBuilt } from "./harness";

const OLD = "v1.34.11+k3s1";
const NEW = "v1.35.8+k3s1";
const NS = "apps";
/** Short, so the refused drain stops quickly; kubectl retries a refused eviction every 5 s until then. */
const DRAIN_TIMEOUT_S = 2;
const maintenance = maintenanceSchema.parse(undefined);

const built = KUBE_TOOLS.map((b) => requireBuilt(b)).every((p) => p !== undefined);

describe.skipIf(!built)("the upgrade's drain and uncordon against a real API server and kubectl", () => {
  const servers = new Servers();
  const stop = () => servers.killAllNow();
  let kube: Kube;
  let bin: string;

  /** Runs a rendered script with the shim first on PATH; async, so the test process stays responsive. */
  const run = (script: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      // HOME in the scratch folder: without one, kubectl writes its discovery cache under the working directory.
      const child = spawn("bash", ["-s"], { env: { PATH: `${bin}:/usr/bin:/bin`, HOME: bin } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (status) => done({ status, stdout, stderr }));
      child.stdin.end(script);
    });
  const ok = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const r = await kube.api(method, path, body, contentType);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const status = (path: string, body: unknown) => ok("PATCH", `${path}/status`, body, "application/merge-patch+json");
  const node = (name: string) => ok("GET", `/api/v1/nodes/${name}`);
  const podNames = async () =>
    ((await ok("GET", `/api/v1/namespaces/${NS}/pods`)).items as { metadata: { name: string } }[]).map((p) => p.metadata.name).sort();

  /** A Node as a kubelet on `version` would report itself: Ready. */
  async function addNode(name: string, version: string) {
    await ok("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name } });
    await setVersion(name, version);
  }
  const setVersion = (name: string, kubeletVersion: string) =>
    status(`/api/v1/nodes/${name}`, {
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }],
        nodeInfo: { kubeletVersion },
      },
    });

  /** A pod bound to `nodeName`, owned by `owner` (a controller), in `phase`, Ready when Running. */
  async function addPod(
    name: string,
    nodeName: string,
    phase: string,
    o: { owner?: [string, string]; labels?: Record<string, string>; emptyDir?: boolean } = {},
  ) {
    const ownerReferences = o.owner
      ? [{ apiVersion: "apps/v1", kind: o.owner[0], name: o.owner[1], uid: randomUUID(), controller: true }]
      : undefined;
    await ok("POST", `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS, labels: o.labels, ownerReferences },
      spec: {
        nodeName,
        terminationGracePeriodSeconds: 0,
        containers: [
          { name: "c", image: "registry.invalid/c:1", ...(o.emptyDir && { volumeMounts: [{ name: "scratch", mountPath: "/scratch" }] }) },
        ],
        ...(o.emptyDir && { volumes: [{ name: "scratch", emptyDir: {} }] }),
      },
    });
    // Ready too when running: an eviction skips the budget for a pod that is not (eviction.go, the unhealthy pod eviction policy).
    const conditions = phase === "Running" ? [{ type: "Ready", status: "True" }] : undefined;
    await status(`/api/v1/namespaces/${NS}/pods/${name}`, { status: { phase, conditions } });
  }

  beforeAll(async () => {
    process.once("exit", stop);
    const started = await startKube(servers);
    if (!started) throw new Error("startKube found no binaries, though requireBuilt did");
    kube = started;
    bin = join(servers.tempDir("k3s-shim"), "bin");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "k3s"),
      `#!/bin/sh\n[ "$1" = kubectl ] || exit 2\nshift\nexec ${toolPath("kubectl")} --kubeconfig=${kube.kubeconfig} "$@"\n`,
      {
        mode: 0o755,
      },
    );
    await ok("POST", "/api/v1/namespaces", { metadata: { name: NS } });
    // What the controller-manager would make: pods that name no account use it.
    await ok("POST", `/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: "default" } });
    await addNode("a", OLD);
    await addNode("b", OLD);
  });
  afterAll(async () => {
    process.off("exit", stop);
    await servers.stopAll();
  });

  it("does nothing for a node that has not joined", async () => {
    const r = await run(renderDrainScript({ nodeName: "c", k3sVersion: NEW, maintenance }));
    expect([r.status, r.stderr]).toEqual([0, "[enclii c] node c is not in the cluster yet: nothing to drain\n"]);
  });

  it("stops at the timeout when a PodDisruptionBudget allows no eviction, and leaves the node schedulable", async () => {
    await addPod("web-0", "a", "Running", { owner: ["ReplicaSet", "web"], labels: { app: "web" } });
    await ok("POST", `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, {
      metadata: { name: "web", namespace: NS },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
    });
    await status(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/web`, {
      status: { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 },
    });
    const r = await run(renderDrainScript({ nodeName: "a", k3sVersion: NEW, maintenance, drainTimeoutS: DRAIN_TIMEOUT_S }));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain("node/a cordoned\n");
    // kubectl's own words (the stand-in in test/k3s-upgrade.test.ts prints the same).
    expect(r.stderr).toContain(
      `error when evicting pods/"web-0" -n "apps" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`,
    );
    expect(r.stderr).toContain(
      [
        `There are pending pods in node "a" when an error occurred: error when evicting pods/"web-0" -n "apps": global timeout reached: 2s`,
        "pod/web-0",
        `error: unable to drain node "a" due to error: error when evicting pods/"web-0" -n "apps": global timeout reached: 2s, continuing command...`,
        "There are pending nodes to be drained:",
        " a",
        `error when evicting pods/"web-0" -n "apps": global timeout reached: 2s`,
        "[enclii a] pods still on node a",
      ].join("\n"),
    );
    expect(r.stderr).toMatch(
      /\[enclii a\] pods still on node a \(DaemonSets' pods stay by design\):\nNAMESPACE +NAME +OWNER +PHASE\napps +web-0 +ReplicaSet +Running\n/,
    );
    expect(r.stderr.split("\n").at(-2)).toBe(
      "[enclii a] node a could not be drained within 2s (kubectl's reason is above): it is schedulable again and nothing was upgraded. Free the pods listed above (a PodDisruptionBudget that allows no disruption, a pod without a controller), then run pulumi up again (docs/runbooks/upgrades.md#when-a-drain-stops)",
    );
    const a = await node("a");
    expect(a.spec.unschedulable).toBeUndefined();
    expect(a.metadata.annotations?.["enclii.io/drained-for"]).toBeUndefined();
    expect(await podNames()).toContain("web-0");
  });

  it("evicts what no budget holds, keeps DaemonSet pods, and uncordons the node once it is back on the new version", async () => {
    await ok("POST", `/apis/apps/v1/namespaces/${NS}/daemonsets`, {
      metadata: { name: "agent", namespace: NS },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "c", image: "registry.invalid/c:1" }] } },
      },
    });
    await addPod("agent-b", "b", "Running", { owner: ["DaemonSet", "agent"], labels: { app: "agent" } });
    await addPod("worker-0", "b", "Running", { owner: ["ReplicaSet", "worker"], emptyDir: true });
    await addPod("done", "b", "Succeeded");

    const drained = await run(renderDrainScript({ nodeName: "b", k3sVersion: NEW, maintenance, drainTimeoutS: 60 }));
    expect(drained.status, drained.stderr).toBe(0);
    expect(drained.stdout).toContain("node/b drained\n");
    expect(drained.stderr.split("\n").at(-2)).toBe("[enclii b] node b is drained");
    expect(await podNames()).toEqual(["agent-b", "web-0"]);
    const b = await node("b");
    expect(b.spec.unschedulable).toBe(true);
    expect(b.metadata.annotations["enclii.io/drained-for"]).toBe(NEW);

    // The bootstrap: k3s restarts on the new version and the kubelet reports it.
    await setVersion("b", NEW);
    const uncordoned = await run(renderUncordonScript({ nodeName: "b", k3sVersion: NEW }));
    expect([uncordoned.status, uncordoned.stderr]).toEqual([0, `[enclii b] node b is Ready on k3s ${NEW}: uncordoned\n`]);
    const after = await node("b");
    expect(after.spec.unschedulable).toBeUndefined();
    expect(after.metadata.annotations?.["enclii.io/drained-for"]).toBeUndefined();

    // Run again (an interrupted update): the node is on the version, so nothing happens.
    const again = await run(renderDrainScript({ nodeName: "b", k3sVersion: NEW, maintenance }));
    expect([again.status, again.stderr]).toEqual([0, `[enclii b] node b already runs k3s ${NEW}: nothing to drain\n`]);
  });
});
