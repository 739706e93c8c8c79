/**
 * The in-cluster admission policies (docs/nodes-and-k3s.md#in-cluster-admission) under mocks: what
 * the component registers, that every rule of the pack is either enforced or listed as left to it,
 * and that the facts the policies mirror from the pack are the pack's. test/admission.real.test.ts
 * judges objects with them on a real API server.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  LEFT_TO_THE_PACK,
  MIRRORED,
  NAMESPACE_VALIDATIONS,
  PLATFORM_NAMESPACES,
  POD_VALIDATIONS,
  SCOPES,
  admissionPolicies,
} from "../components/k3s/admissionPolicies";
import { runPlan, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { imageProblem } from "../model/baseline";
import { APPS_NAMESPACE, CLOUDFLARED, TENANT_LABEL, TENANT_ROUTER } from "../model/names";
import { EXEMPT_NAMESPACES, RULES } from "../policy/objects";
import { allowedAppArmorAnnotation } from "../policy/pss";
import { ROOT, find, one, recordResources, settled, validateObject, type Registered } from "./harness";

const POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";
const BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding";
const ROLES = ["pods", "workloads", "cronjobs", "namespaces"];

describe("the rules enforced in the cluster", () => {
  const enforced = new Set([...POD_VALIDATIONS, ...NAMESPACE_VALIDATIONS].map((v) => v.rule));

  it("covers every rule of the pack: enforced, or left to the pack with the reason", () => {
    expect([...enforced, ...Object.keys(LEFT_TO_THE_PACK)].sort()).toEqual(Object.values(RULES).sort());
    expect(Object.keys(LEFT_TO_THE_PACK).filter((r) => enforced.has(r))).toEqual([]);
    expect(Object.keys(LEFT_TO_THE_PACK).sort()).toEqual([RULES.defaultDeny, RULES.podDisruptionBudget]);
  });

  it("starts every message with the rule's id, as the pack's violations do", () => {
    for (const v of [...POD_VALIDATIONS, ...NAMESPACE_VALIDATIONS]) expect(v.message.startsWith(`${v.rule}: `), v.message).toBe(true);
  });

  it("mirrors the pack's exempt namespaces exactly (the rest is model/baseline.ts's, shared)", () => {
    expect([...MIRRORED.exemptNamespaces].sort()).toEqual(Object.keys(EXEMPT_NAMESPACES).sort());
  });

  it("allows the AppArmor annotation values the pack allows", () => {
    const mirrored = (v: string) => MIRRORED.allowedAppArmorAnnotations.includes(v) || v.startsWith(MIRRORED.localhostAppArmorAnnotation);
    for (const value of ["", "runtime/default", "localhost/custom", "localhost/", "unconfined", "runtime/defaults", "Localhost/x"])
      expect(mirrored(value), value).toBe(allowedAppArmorAnnotation(value));
  });

  it("calls an image pinned exactly when model/baseline.ts's imageProblem does", () => {
    const pinned = (image: string) =>
      new RegExp(MIRRORED.digestPattern).test(image) ||
      (new RegExp(MIRRORED.tagPattern).test(image) && !image.endsWith(`:${MIRRORED.unpinnedTag}`));
    const digest = `@sha256:${"a".repeat(64)}`;
    for (const image of [
      "nginx:1.27.0",
      "ghcr.io/org/app:v1.2.3",
      "registry:5000/app:1.0",
      "registry:5000/app",
      "nginx",
      "nginx:latest",
      "ghcr.io/org/app:latest",
      `nginx${digest}`,
      `nginx:latest${digest}`,
      `nginx@sha256:${"A".repeat(64)}`,
      "nginx:-bad",
      "nginx:.bad",
      `nginx:${"a".repeat(128)}`,
      `nginx:${"a".repeat(129)}`,
      "app:1.0/extra",
      "nginx:1.0:2.0",
      "",
    ])
      expect(pinned(image), image).toBe(imageProblem(image) === undefined);
  });
});

describe("where the policies apply", () => {
  it("binds each policy to the platform's namespaces by name and to tenant namespaces by their label", () => {
    expect(PLATFORM_NAMESPACES).toEqual([APPS_NAMESPACE, CLOUDFLARED.namespace, TENANT_ROUTER.namespace]);
    expect(SCOPES.tenants).toEqual({ matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] });
    for (const { bindings } of admissionPolicies())
      expect(bindings.map((b) => b.binding.spec.matchResources)).toEqual([
        { namespaceSelector: SCOPES.platform },
        { namespaceSelector: SCOPES.tenants },
      ]);
  });

  it("never judges an exempt namespace, whatever a binding selects", () => {
    expect(PLATFORM_NAMESPACES.filter((ns) => ns in EXEMPT_NAMESPACES)).toEqual([]);
    for (const { policy } of admissionPolicies())
      expect(policy.spec.matchConstraints.namespaceSelector).toEqual({
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: Object.keys(EXEMPT_NAMESPACES) }],
      });
  });
});

describe("the Admission component", () => {
  let all: Registered[];
  beforeAll(async () => {
    all = await recordResources();
    const k8s = await import("@pulumi/kubernetes");
    const { Admission } = await import("../components/k3s/Admission");
    const provider = new k8s.Provider("k", { kubeconfig: "{}" });
    new Admission("adm", { provider });
    await settled();
  });

  it("registers each rendered policy, failing closed, with the pack's checks as its validations", async () => {
    const rendered = admissionPolicies();
    expect(rendered.map((p) => p.role)).toEqual(ROLES);
    expect(
      find(all, POLICY)
        .map((p) => p.name)
        .sort(),
    ).toEqual(ROLES.map((r) => `adm-${r}`).sort());
    for (const { role, name, policy } of rendered) {
      const registered = one(all, POLICY, `adm-${role}`).inputs;
      expect(registered.metadata).toEqual({ name });
      expect(registered.spec).toEqual(policy.spec);
      expect(registered.spec.failurePolicy).toBe("Fail");
      const messages = registered.spec.validations.map((v: { message: string }) => v.message);
      expect(messages).toEqual((role === "namespaces" ? NAMESPACE_VALIDATIONS : POD_VALIDATIONS).map((v) => v.message));
      await expect(validateObject(registered as never), name).resolves.toBeUndefined();
    }
  });

  it("judges pods where the pack does: Pods (and kubectl debug's containers), workload templates, CronJobs' job templates", () => {
    const resources = (role: string) =>
      one(all, POLICY, `adm-${role}`).inputs.spec.matchConstraints.resourceRules.flatMap((r: { resources: string[] }) => r.resources);
    expect(resources("pods")).toEqual(["pods", "pods/ephemeralcontainers"]);
    expect(resources("workloads")).toEqual(["deployments", "statefulsets", "daemonsets", "replicasets", "jobs"]);
    expect(resources("cronjobs")).toEqual(["cronjobs"]);
    expect(resources("namespaces")).toEqual(["namespaces"]);
    // Updates that leave the pod alone (a controller scaling or finalizing an older object) are not judged.
    expect(one(all, POLICY, "adm-workloads").inputs.spec.matchConditions).toEqual([
      { name: "pod-changes", expression: 'request.operation != "UPDATE" || object.spec.template != oldObject.spec.template' },
    ]);
  });

  it("binds every policy twice, denying", async () => {
    const bindings = find(all, BINDING);
    expect(bindings.map((b) => b.name).sort()).toEqual(ROLES.flatMap((r) => [`adm-${r}-platform`, `adm-${r}-tenants`]).sort());
    for (const b of bindings) {
      const role = b.name.replace(/^adm-/, "").replace(/-(platform|tenants)$/, "");
      expect(b.inputs.spec).toMatchObject({ policyName: `enclii-baseline-${role}`, validationActions: ["Deny"] });
      expect(b.inputs.metadata.name).toBe(`enclii-baseline-${b.name.replace(/^adm-/, "")}`);
      await expect(validateObject(b.inputs as never), b.name).resolves.toBeUndefined();
    }
  });
});

describe("the platform", () => {
  let plan: PlanResult;
  beforeAll(async () => {
    plan = await runPlan("staging", loadStackConfig(join(ROOT, "Pulumi.staging.yaml")));
  });

  it("installs the policies as soon as the cluster answers, under the platform", () => {
    const [admission] = plan.resources.filter((r) => r.type === "enclii:k3s:Admission");
    expect(admission.name).toBe("enclii-admission");
    expect(admission.parent).toMatch(/::enclii$/);
    const bootstraps = plan.resources.filter((r) => r.type === "command:remote:Command" && r.name.endsWith("-bootstrap")).map((r) => r.urn);
    expect(bootstraps.length).toBeGreaterThan(0);
    expect(admission.dependencies).toEqual(expect.arrayContaining(bootstraps));
    expect(
      plan.resources
        .filter((r) => r.type === POLICY && r.parent === admission.urn)
        .map((r) => r.name)
        .sort(),
    ).toEqual(ROLES.map((r) => `enclii-admission-${r}`).sort());
  });
});
