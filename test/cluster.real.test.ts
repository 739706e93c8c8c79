/**
 * Every object the program renders against a real kube-apiserver, with the code of
 * `npm run cluster-check` (testbed/clusterCheck.ts): strict server-side apply and read-back,
 * PodSecurity on every workload's pod, and the RBAC matrix against model/leastPrivilege.ts
 * (docs/security.md#the-real-api-server). Skipped locally until `npm run toolchain` has built
 * etcd, kube-apiserver and kubectl; in CI a missing binary fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_CHECKS, formatAnswer, type Answer, type CheckId } from "../model/leastPrivilege";
import { RESTRICTED_NAMESPACE_LABELS } from "../model/baseline";
import { Resources, admitWorkloads, applyStack, compareStored, removeStack } from "../testbed/clusterApply";
import { KUBE_TOOLS, checkCluster } from "../testbed/clusterCheck";
import { differences, formatReport, refusedNaming, type ClusterReport } from "../testbed/clusterReport";
import { renderStacks, type KubeObject, type StackObjects } from "../testbed/clusterObjects";
import { accessDifferences, accessOf, aggregatedBindings } from "../testbed/clusterRbac";
import { startKube, type Kube } from "../testbed/kube";
import { Servers } from "../testbed/servers";
import { requireBuilt } from "./harness";

describe("the read-back comparison", () => {
  it("names a dropped field and a changed value; a quantity written canonically and an omitted empty value are not lost", () => {
    const sent = {
      spec: { replicas: 2, extra: true, egress: [], resources: { cpu: "0.5", memory: "1Gi" }, ports: [{ port: 80 }, { port: 81 }] },
    };
    const stored = {
      spec: { replicas: 3, resources: { cpu: "500m", memory: "1024Mi" }, ports: [{ port: 80, protocol: "TCP" }], added: 1 },
    };
    expect(compareStored(sent, stored)).toEqual({
      lost: [
        ".spec.replicas: sent 2, stored 3",
        ".spec.extra: dropped",
        ".spec.ports: sent 2 items, stored 1",
        ".spec.ports[1]: sent a map, stored undefined",
      ],
      omitted: [".spec.egress"],
    });
    // A different amount is a change, however it is written.
    expect(compareStored({ cpu: "1" }, { cpu: "1001m" }).lost).toEqual(['.cpu: sent "1", stored "1001m"']);
  });
});

describe("the RBAC comparison", () => {
  it("reports an account without a row, and every answer that differs from the table", () => {
    const answers = Object.fromEntries(ACCESS_CHECKS.map((c) => [c.id, "none"])) as Record<CheckId, Answer>;
    expect(accessDifferences("s", [{ account: "x/unknown", answers }])[0]).toMatch(/^s: x\/unknown has no row in model\/leastPrivilege.ts/);
    const pulumiRow = { account: "kube-system/enclii-pulumi", answers: { ...answers, "secrets get": "none" as const } };
    expect(accessDifferences("s", [pulumiRow])).toContain(
      "s: kube-system/enclii-pulumi secrets get: the server says -, model/leastPrivilege.ts says all",
    );
  });
});

// Each missing binary is named (and in CI each one fails the run).
const built = KUBE_TOOLS.map((b) => requireBuilt(b)).every((p) => p !== undefined);

describe.skipIf(!built)("a real kube-apiserver", () => {
  const servers = new Servers();
  const stop = () => servers.killAllNow();
  let report: ClusterReport;
  let kube: Kube;
  let stacks: StackObjects[];
  beforeAll(async () => {
    // An interrupted run must not leave etcd and kube-apiserver behind.
    process.once("exit", stop);
    const [started, rendered] = await Promise.all([startKube(servers), renderStacks()]);
    if (!started) throw new Error("startKube found no binaries, though requireBuilt did");
    [kube, stacks] = [started, rendered];
    report = await checkCluster(kube, stacks);
    // The same tables `npm run cluster-check` prints, for whoever reads the test's output.
    process.stdout.write(`${formatReport(report)}\n`);
  });
  afterAll(async () => {
    process.off("exit", stop);
    await servers.stopAll();
  });
  const all = <T>(pick: (s: ClusterReport["stacks"][number]) => T[]) => report.stacks.flatMap(pick);

  it("plans every stack and a tenant shard, and lists the Helm releases it cannot render", () => {
    expect(report.stacks.map((s) => s.stack)).toEqual(["production", "staging", "staging-000", "ha", "external"]);
    expect(report.crds.length).toBeGreaterThan(0);
    expect(report.stacks.find((s) => s.stack === "production")!.releases.map((r) => r.chart)).toContain("kube-prometheus-stack");
  });

  it("stores every object under strict field validation: none refused", () => {
    expect(all((s) => s.applied).length).toBeGreaterThan(400);
    expect(all((s) => s.applied.filter((a) => a.refused).map((a) => `${s.stack}: ${a.ref}: ${a.refused}`))).toEqual([]);
  });

  it("keeps every field sent: read back, nothing dropped or changed", () => {
    expect(all((s) => s.applied.flatMap((a) => a.lost.map((l) => `${s.stack}: ${a.ref}: ${l}`)))).toEqual([]);
  });

  it("admits every workload's pod, without a warning, in a namespace that enforces restricted", () => {
    expect(all((s) => s.admissions).length).toBeGreaterThan(30);
    expect(all((s) => s.admissions.filter((p) => p.level !== "restricted").map((p) => `${s.stack}: ${p.ref}: ${p.level}`))).toEqual([]);
    expect(
      all((s) =>
        s.admissions.filter((p) => p.refused || p.warnings.length > 0).map((p) => `${s.stack}: ${p.ref}: ${p.refused ?? p.warnings}`),
      ),
    ).toEqual([]);
  });

  it("refuses what it must: unknown fields (core and custom) and a privileged pod in a restricted namespace", () => {
    expect(refusedNaming(report.controls.unknownField, "datta"), report.controls.unknownField.body.message).toBe(true);
    expect(refusedNaming(report.controls.unknownCustomField, "spec.scrapeIntervall"), report.controls.unknownCustomField.body.message).toBe(
      true,
    );
    expect(report.controls.privilegedPod.status).toBe(403);
    expect(report.controls.privilegedPod.body.message).toMatch(/violates PodSecurity "restricted:latest": privileged/);
  });

  it("answers every RBAC check as model/leastPrivilege.ts says, for every account of every stack", () => {
    expect(all((s) => s.access).length).toBeGreaterThan(0);
    expect(all((s) => accessDifferences(s.stack, s.access))).toEqual([]);
  });

  it("finds no difference at all (what npm run cluster-check exits 1 on)", () => {
    expect(differences(report)).toEqual([]);
  });

  it("catches a broken stack: a misspelt field, a privileged workload, an account given more than its row", async () => {
    const ns = "enclii-check-broken";
    const janua = stacks[0].objects.find((r) => r.object.kind === "Deployment" && r.object.metadata.name === "janua")!.object;
    const template = structuredClone((janua.spec as { template: { spec: { containers: { securityContext: object }[] } } }).template);
    template.spec.containers[0].securityContext = { privileged: true };
    const object = (o: object) => ({ source: "broken", object: o as KubeObject });
    const broken: StackObjects = {
      stack: "broken",
      releases: [],
      objects: [
        object({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: RESTRICTED_NAMESPACE_LABELS } }),
        object({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "typo", namespace: ns }, dat: { a: "b" } }),
        object({ ...janua, metadata: { name: "privileged", namespace: ns }, spec: { ...(janua.spec as object), template } }),
        object({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "janua", namespace: ns } }),
        object({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "read-secrets", namespace: ns },
          rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
        }),
        ...[
          { name: "too-much", roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-secrets" } },
          // `edit` is aggregated: empty on a server without the controller-manager, so flagged rather than believed.
          { name: "unjudged", roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" } },
        ].map(({ name, roleRef }) =>
          object({
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name, namespace: ns },
            roleRef,
            subjects: [{ kind: "ServiceAccount", name: "janua", namespace: "enclii-platform" }],
          }),
        ),
      ],
    };
    const resources = new Resources(kube);
    const applied = await applyStack(kube, resources, broken);
    expect(applied.filter((a) => a.refused).map((a) => a.ref)).toEqual([`ConfigMap ${ns}/typo`]);
    // The Deployment is stored (PodSecurity only warns on workloads); its pod is refused.
    expect(applied.find((a) => a.ref === `Deployment ${ns}/privileged`)!.warnings.join()).toMatch(
      /would violate PodSecurity "restricted:latest": privileged/,
    );
    const [pod] = await admitWorkloads(kube, broken);
    expect(pod.refused).toMatch(/^403 .*violates PodSecurity "restricted:latest": privileged/);
    const answers = await accessOf(kube, "enclii-platform/janua", [ns]);
    expect(accessDifferences("broken", [{ account: "enclii-platform/janua", answers }])).toContain(
      `broken: enclii-platform/janua secrets get: the server says ${ns}, model/leastPrivilege.ts says -`,
    );
    expect(await aggregatedBindings(kube, broken)).toEqual([
      "broken: RoleBinding unjudged binds the aggregated ClusterRole edit, empty without a controller-manager: its answers would be too few",
    ]);
    await removeStack(kube, resources, broken);
    expect(formatAnswer((await accessOf(kube, "enclii-platform/janua", [ns]))["secrets get"])).toBe("-");
  });
});
