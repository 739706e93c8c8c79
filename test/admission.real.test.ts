/**
 * The in-cluster admission policies (docs/nodes-and-k3s.md#in-cluster-admission) on a real
 * kube-apiserver: per rule, an object that passes and one refused with a message naming the rule;
 * every kind they judge; where they apply and where they stop; updates that leave the pod alone;
 * and every object the program renders for every stack admitted with them in force. Skipped
 * locally until `npm run toolchain` has built etcd, kube-apiserver and kubectl; in CI a missing
 * binary fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admissionPolicies } from "../components/k3s/admissionPolicies";
import { NEEDS_TOKEN_ANNOTATION, RESTRICTED_NAMESPACE_LABELS, imageProblem } from "../model/baseline";
import { APPS_NAMESPACE, DATA_NAMESPACE, TENANT_LABEL } from "../model/names";
import { CHARTS } from "../model/pins";
import { Resources, admitWorkloads, applyStack, installCrds, refOf, removeStack } from "../testbed/clusterApply";
import { KUBE_TOOLS } from "../testbed/clusterCheck";
import { renderStacks, type KubeObject, type StackObjects } from "../testbed/clusterObjects";
import { startKube, type ApiResponse, type Kube } from "../testbed/kube";
import { Servers } from "../testbed/servers";
import { requireBuilt } from "./harness";

const ADMISSION = "admissionregistration.k8s.io/v1";
const TENANT_NS = "tenant-acme";
/** Restricted, out of scope until labelled as a tenant's: where an object older than the policies is made. */
const LEGACY_NS = "tenant-legacy";
const LONGHORN_NS = CHARTS.longhorn.namespace;
const PRIVILEGED = { "pod-security.kubernetes.io/enforce": "privileged" };

/** Pod templates, mutated freely below. */
type Json = any;

const container = (name: string): Json => ({
  name,
  image: "registry.example/app:1.0.0",
  resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "16Mi" } },
  readinessProbe: { tcpSocket: { port: 8080 } },
  livenessProbe: { tcpSocket: { port: 8080 } },
  securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
});
/** A pod template that meets every rule. */
const good = (): Json => ({
  metadata: { labels: { app: "probe" } },
  spec: {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [container("app")],
  },
});
const podOf = (t: Json) => t.spec.securityContext;
const scOf = (t: Json) => t.spec.containers[0].securityContext;
const writableRoot = (t: Json) => {
  scOf(t).readOnlyRootFilesystem = false;
  return t;
};

/** Per rule: a change that keeps the template compliant (exercising what the rule allows) and changes it breaks. */
const CASES: [rule: string, pass: (t: Json) => void, fail: ((t: Json) => void)[]][] = [
  [
    "host-process",
    (t) => (podOf(t).windowsOptions = { hostProcess: false }),
    [
      (t) => {
        t.spec.hostNetwork = true;
        podOf(t).windowsOptions = { hostProcess: true };
      },
    ],
  ],
  [
    "host-namespaces",
    (t) => Object.assign(t.spec, { hostNetwork: false, hostPID: false, hostIPC: false }),
    [(t) => (t.spec.hostPID = true)],
  ],
  [
    "privileged",
    (t) => (scOf(t).privileged = false),
    [
      (t) => {
        scOf(t).privileged = true;
        delete scOf(t).allowPrivilegeEscalation;
      },
    ],
  ],
  [
    "volume-types",
    (t) =>
      (t.spec.volumes = [
        { name: "tmp", emptyDir: {} },
        { name: "config", configMap: { name: "c" } },
        { name: "creds", secret: { secretName: "s" } },
        { name: "token", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } },
        { name: "data", persistentVolumeClaim: { claimName: "d" } },
      ]),
    [
      (t) => (t.spec.volumes = [{ name: "host", hostPath: { path: "/" } }]),
      (t) => (t.spec.volumes = [{ name: "nfs", nfs: { server: "nfs.example", path: "/" } }]),
    ],
  ],
  [
    "host-ports",
    (t) => (t.spec.containers[0].ports = [{ containerPort: 8080 }]),
    [(t) => (t.spec.containers[0].ports = [{ containerPort: 8080, hostPort: 8080 }])],
  ],
  [
    "capabilities",
    (t) => (scOf(t).capabilities.add = ["NET_BIND_SERVICE"]),
    [(t) => (scOf(t).capabilities.drop = ["NET_RAW"]), (t) => (scOf(t).capabilities.add = ["SYS_ADMIN"])],
  ],
  ["privilege-escalation", (t) => (scOf(t).allowPrivilegeEscalation = false), [(t) => delete scOf(t).allowPrivilegeEscalation]],
  [
    "run-as-non-root",
    (t) => {
      delete podOf(t).runAsNonRoot;
      scOf(t).runAsNonRoot = true;
    },
    [(t) => (scOf(t).runAsNonRoot = false), (t) => delete podOf(t).runAsNonRoot, (t) => (podOf(t).runAsNonRoot = false)],
  ],
  ["run-as-user", (t) => (podOf(t).runAsUser = 1000), [(t) => (podOf(t).runAsUser = 0), (t) => (scOf(t).runAsUser = 0)]],
  [
    "seccomp",
    (t) => {
      delete podOf(t).seccompProfile;
      scOf(t).seccompProfile = { type: "RuntimeDefault" };
    },
    [(t) => (podOf(t).seccompProfile = { type: "Unconfined" }), (t) => delete podOf(t).seccompProfile],
  ],
  [
    "proc-mount",
    (t) => (scOf(t).procMount = "Default"),
    [
      (t) => {
        t.spec.hostUsers = false;
        scOf(t).procMount = "Unmasked";
      },
    ],
  ],
  [
    "sysctls",
    (t) => (podOf(t).sysctls = [{ name: "net.ipv4.tcp_syncookies", value: "1" }]),
    [(t) => (podOf(t).sysctls = [{ name: "kernel.msgmax", value: "65536" }])],
  ],
  [
    "selinux",
    (t) => (scOf(t).seLinuxOptions = { type: "container_t", level: "s0:c1,c2" }),
    [(t) => (scOf(t).seLinuxOptions = { type: "spc_t" }), (t) => (podOf(t).seLinuxOptions = { user: "system_u" })],
  ],
  [
    "apparmor",
    (t) => {
      scOf(t).appArmorProfile = { type: "RuntimeDefault" };
      t.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/app": "runtime/default" };
    },
    [
      (t) => (podOf(t).appArmorProfile = { type: "Unconfined" }),
      (t) => (t.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" }),
    ],
  ],
  ["read-only-root-filesystem", (t) => (scOf(t).readOnlyRootFilesystem = true), [writableRoot]],
  [
    "resources",
    (t) => (t.spec.initContainers = [{ ...container("init"), readinessProbe: undefined, livenessProbe: undefined }]),
    [
      (t) => delete t.spec.containers[0].resources.requests.cpu,
      (t) => delete t.spec.containers[0].resources.limits,
      (t) =>
        (t.spec.initContainers = [{ ...container("init"), resources: undefined, readinessProbe: undefined, livenessProbe: undefined }]),
    ],
  ],
  [
    "probes",
    (t) => (t.spec.containers[0].startupProbe = { tcpSocket: { port: 8080 } }),
    [(t) => delete t.spec.containers[0].livenessProbe, (t) => delete t.spec.containers[0].readinessProbe],
  ],
  [
    "pinned-image",
    (t) => (t.spec.containers[0].image = `registry.example/app@sha256:${"0".repeat(64)}`),
    [(t) => (t.spec.containers[0].image = "registry.example/app:latest"), (t) => (t.spec.containers[0].image = "registry.example/app")],
  ],
  [
    "service-account-token",
    (t) => {
      delete t.spec.automountServiceAccountToken;
      t.metadata.annotations = { [NEEDS_TOKEN_ANNOTATION]: "watches its own pods" };
    },
    [(t) => delete t.spec.automountServiceAccountToken, (t) => (t.spec.automountServiceAccountToken = true)],
  ],
];

/** Every kind the policies judge, with the API it is served under. */
const API: Record<string, string> = {
  Pod: "/api/v1",
  Deployment: "/apis/apps/v1",
  StatefulSet: "/apis/apps/v1",
  DaemonSet: "/apis/apps/v1",
  ReplicaSet: "/apis/apps/v1",
  Job: "/apis/batch/v1",
  CronJob: "/apis/batch/v1",
};
const KINDS = Object.keys(API);

/** The object of `kind` whose pods are `template`; Jobs' pods run to completion. */
function workload(kind: string, namespace: string, template: Json, name = "probe"): Json {
  const apiVersion = API[kind].replace(/^\/apis?\//, "");
  const metadata = { name, namespace };
  const selector = { matchLabels: template.metadata.labels };
  if (kind === "Pod") return { apiVersion, kind, metadata: { ...template.metadata, ...metadata }, spec: template.spec };
  const finite = { ...template, spec: { ...template.spec, restartPolicy: "Never" } };
  if (kind === "Job") return { apiVersion, kind, metadata, spec: { template: finite } };
  if (kind === "CronJob")
    return { apiVersion, kind, metadata, spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: finite } } } };
  return { apiVersion, kind, metadata, spec: { selector, template, ...(kind === "StatefulSet" && { serviceName: name }) } };
}

// Each missing binary is named (and in CI each one fails the run).
const built = KUBE_TOOLS.map((b) => requireBuilt(b)).every((p) => p !== undefined);

describe.skipIf(!built)("admission policies on a real kube-apiserver", () => {
  const servers = new Servers();
  const stop = () => servers.killAllNow();
  let kube: Kube;
  let resources: Resources;
  const submit = (o: Json, dryRun = true): Promise<ApiResponse> =>
    kube.api("POST", `${API[o.kind]}/namespaces/${o.metadata.namespace}/${o.kind.toLowerCase()}s${dryRun ? "?dryRun=All" : ""}`, o);
  const deployment = (namespace: string, change: (t: Json) => void = () => {}) => {
    const t = good();
    change(t);
    return submit(workload("Deployment", namespace, t));
  };
  const refusal = (r: ApiResponse) => (r.status === 200 || r.status === 201 ? "admitted" : String(r.body?.message));
  const denied = (policy: string, scope: string, rule: string) =>
    `ValidatingAdmissionPolicy 'enclii-baseline-${policy}' with binding 'enclii-baseline-${policy}-${scope}' denied request: ${rule}: `;

  beforeAll(async () => {
    process.once("exit", stop);
    const started = await startKube(servers);
    if (!started) throw new Error("startKube found no binaries, though requireBuilt did");
    kube = started;
    resources = new Resources(kube);
    const ns = (name: string, labels: Record<string, string>): KubeObject => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels },
    });
    const setup: StackObjects = {
      stack: "admission",
      releases: [],
      objects: [
        ...admissionPolicies().flatMap(({ policy, bindings }) => [
          { apiVersion: ADMISSION, kind: "ValidatingAdmissionPolicy", ...policy },
          ...bindings.map((b) => ({ apiVersion: ADMISSION, kind: "ValidatingAdmissionPolicyBinding", ...b.binding })),
        ]),
        ns(APPS_NAMESPACE, RESTRICTED_NAMESPACE_LABELS),
        ns(TENANT_NS, { ...RESTRICTED_NAMESPACE_LABELS, [TENANT_LABEL]: "acme" }),
        ns(DATA_NAMESPACE, RESTRICTED_NAMESPACE_LABELS),
        ns(LEGACY_NS, RESTRICTED_NAMESPACE_LABELS),
        // Exempt in the pack, so never judged, even labelled as a tenant's.
        ns(LONGHORN_NS, { ...PRIVILEGED, [TENANT_LABEL]: "not-really" }),
      ].map((object) => ({ source: "admission", object: object as KubeObject })),
    };
    const applied = await applyStack(kube, resources, setup);
    expect(applied.filter((a) => a.refused).map((a) => `${a.ref}: ${a.refused}`)).toEqual([]);
  });
  afterAll(async () => {
    process.off("exit", stop);
    await servers.stopAll();
  });

  it("admits the compliant pod template in every kind it judges", async () => {
    for (const kind of KINDS) expect(refusal(await submit(workload(kind, APPS_NAMESPACE, good()))), kind).toBe("admitted");
  });

  it.each(CASES)("%s: admits what the rule allows, refuses what it does not, naming the rule", async (rule, pass, fails) => {
    expect(refusal(await deployment(APPS_NAMESPACE, pass))).toBe("admitted");
    for (const fail of fails) expect(refusal(await deployment(APPS_NAMESPACE, fail))).toContain(denied("workloads", "platform", rule));
  });

  it("judges every kind: each workload's pod template, a CronJob's job template, and a bare Pod (kubectl run)", async () => {
    const policy: Record<string, string> = { Pod: "pods", CronJob: "cronjobs" };
    for (const kind of KINDS)
      expect(refusal(await submit(workload(kind, APPS_NAMESPACE, writableRoot(good())))), kind).toContain(
        denied(policy[kind] ?? "workloads", "platform", "read-only-root-filesystem"),
      );
  });

  it("asks probes of long-running pods only: not of a Job's, a CronJob's or a Pod that runs to completion", async () => {
    const noProbes = () => {
      const t = good();
      delete t.spec.containers[0].readinessProbe;
      delete t.spec.containers[0].livenessProbe;
      return t;
    };
    for (const kind of ["Job", "CronJob"]) expect(refusal(await submit(workload(kind, APPS_NAMESPACE, noProbes()))), kind).toBe("admitted");
    const finished = noProbes();
    finished.spec.restartPolicy = "OnFailure";
    expect(refusal(await submit(workload("Pod", APPS_NAMESPACE, finished)))).toBe("admitted");
    expect(refusal(await submit(workload("Pod", APPS_NAMESPACE, noProbes())))).toContain(denied("pods", "platform", "probes"));
  });

  it("calls an image pinned exactly as the pack does (model/baseline.ts imageProblem)", async () => {
    const digest = `@sha256:${"a".repeat(64)}`;
    for (const image of [
      "nginx:1.27.0",
      "registry:5000/app:1.0",
      "registry:5000/app",
      "nginx",
      "nginx:latest",
      `nginx${digest}`,
      `nginx:latest${digest}`,
      "nginx:-bad",
      `nginx:${"a".repeat(128)}`,
      `nginx:${"a".repeat(129)}`,
    ]) {
      const answer = refusal(await deployment(APPS_NAMESPACE, (t) => (t.spec.containers[0].image = image)));
      if (imageProblem(image) === undefined) expect(answer, image).toBe("admitted");
      else expect(answer, image).toContain(denied("workloads", "platform", "pinned-image"));
    }
  });

  it("applies in tenant namespaces by their label, and stops at the namespaces it does not own", async () => {
    expect(refusal(await deployment(TENANT_NS, writableRoot))).toContain(denied("workloads", "tenants", "read-only-root-filesystem"));
    // The data namespace holds CloudNativePG's pods, which the operator makes; exempt namespaces hold charts'.
    for (const ns of [DATA_NAMESPACE, LONGHORN_NS, "default"]) expect(refusal(await deployment(ns, writableRoot)), ns).toBe("admitted");
  });

  it("keeps the platform's and tenants' namespaces restricted; other namespaces are not its business", async () => {
    const namespace = (name: string, labels: Record<string, string>) =>
      kube.api("POST", "/api/v1/namespaces?dryRun=All", { metadata: { name, labels } });
    const labelled = (enforce: string) =>
      kube.api(
        "PATCH",
        `/api/v1/namespaces/${APPS_NAMESPACE}?dryRun=All`,
        { metadata: { labels: { "pod-security.kubernetes.io/enforce": enforce } } },
        "application/merge-patch+json",
      );
    expect(refusal(await namespace("tenant-new", { ...RESTRICTED_NAMESPACE_LABELS, [TENANT_LABEL]: "new" }))).toBe("admitted");
    expect(refusal(await namespace("tenant-open", { ...PRIVILEGED, [TENANT_LABEL]: "open" }))).toContain(
      denied("namespaces", "tenants", "pod-security-label"),
    );
    expect(refusal(await labelled("privileged"))).toContain(denied("namespaces", "platform", "pod-security-label"));
    expect(refusal(await labelled("restricted"))).toBe("admitted");
    expect(refusal(await namespace("someone-elses", PRIVILEGED))).toBe("admitted");
  });

  it("judges an update only when it changes the pod: an older object can still be scaled, labelled and deleted", async () => {
    // Made before its namespace came into scope, as an object older than the policies would be.
    const legacy = workload("Deployment", LEGACY_NS, writableRoot(good()), "legacy");
    expect(refusal(await submit(legacy, false))).toBe("admitted");
    const patch = (path: string, body: object) => kube.api("PATCH", path, body, "application/merge-patch+json");
    expect(refusal(await patch(`/api/v1/namespaces/${LEGACY_NS}`, { metadata: { labels: { [TENANT_LABEL]: "legacy" } } }))).toBe(
      "admitted",
    );
    const path = `/apis/apps/v1/namespaces/${LEGACY_NS}/deployments/legacy`;
    expect(refusal(await patch(path, { spec: { replicas: 3 } }))).toBe("admitted");
    expect(refusal(await patch(path, { metadata: { labels: { team: "x" } } }))).toBe("admitted");
    expect(refusal(await patch(path, { spec: { template: { metadata: { annotations: { restartedAt: "now" } } } } }))).toContain(
      denied("workloads", "tenants", "read-only-root-filesystem"),
    );
    expect(refusal(await kube.api("DELETE", path))).not.toContain("denied request");
  });

  it("judges the containers kubectl debug adds to a running pod", async () => {
    expect(refusal(await submit(workload("Pod", APPS_NAMESPACE, good(), "running"), false))).toBe("admitted");
    const debug = (readOnlyRootFilesystem: boolean) =>
      kube.api(
        "PATCH",
        `/api/v1/namespaces/${APPS_NAMESPACE}/pods/running/ephemeralcontainers`,
        {
          spec: {
            ephemeralContainers: [
              {
                ...container("debug"),
                resources: undefined,
                readinessProbe: undefined,
                livenessProbe: undefined,
                securityContext: { ...container("debug").securityContext, readOnlyRootFilesystem },
              },
            ],
          },
        },
        "application/strategic-merge-patch+json",
      );
    expect(refusal(await debug(false))).toContain(denied("pods", "platform", "read-only-root-filesystem"));
    expect(refusal(await debug(true))).toBe("admitted");
  });

  it("applies a stack's policies first and goes on only once the server enforces them", async () => {
    const name = "enclii-check-fresh";
    const policy = {
      apiVersion: ADMISSION,
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      spec: {
        matchConstraints: {
          resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"] }],
        },
        validations: [{ expression: `object.metadata.name != "${name}"`, message: name }],
      },
    };
    const binding = {
      apiVersion: ADMISSION,
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name },
      spec: { policyName: name, validationActions: ["Deny"] },
    };
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } };
    const stack: StackObjects = {
      stack: "fresh",
      releases: [],
      objects: [configMap, policy, binding].map((o) => ({ source: "fresh", object: o as KubeObject })),
    };
    // Written last, the ConfigMap is judged by a policy written a moment before: refused, not stored.
    const applied = await applyStack(kube, resources, stack);
    expect(applied.map((a) => a.ref)).toEqual([
      `ValidatingAdmissionPolicy ${name}`,
      `ValidatingAdmissionPolicyBinding ${name}`,
      `ConfigMap default/${name}`,
    ]);
    expect(applied[2].refused).toContain(`denied request: ${name}`);
    await removeStack(kube, resources, stack);
  });

  it("admits every object the program renders, for every stack, with the policies in force", async () => {
    const [stacks] = await Promise.all([renderStacks(), installCrds(kube)]);
    const names = admissionPolicies()
      .flatMap(({ policy, bindings }) => [
        `ValidatingAdmissionPolicy ${policy.metadata.name}`,
        ...bindings.map((b) => `ValidatingAdmissionPolicyBinding ${b.binding.metadata.name}`),
      ])
      .sort();
    let present: StackObjects[] = [];
    for (const [i, stack] of stacks.entries()) {
      const ours = stack.objects.map((r) => refOf(r.object)).filter((ref) => names.includes(ref));
      expect(ours.sort(), stack.stack).toEqual(stack.platform ? [] : names);
      const applied = await applyStack(kube, resources, stack);
      expect(applied.filter((a) => a.refused).map((a) => `${stack.stack}: ${a.ref}: ${a.refused}`)).toEqual([]);
      expect((await admitWorkloads(kube, stack)).filter((p) => p.refused).map((p) => `${stack.stack}: ${p.ref}: ${p.refused}`)).toEqual([]);
      // applyStack put the policies in force before anything else (policiesInForce, tested above); still in force after.
      expect(refusal(await deployment(APPS_NAMESPACE, writableRoot))).toContain(
        denied("workloads", "platform", "read-only-root-filesystem"),
      );
      present.push(stack);
      // A platform stays while its shards are applied: they go into its cluster, beside its objects.
      if (stacks[i + 1]?.platform === (stack.platform ?? stack.stack)) continue;
      for (const s of present.reverse()) await removeStack(kube, resources, s);
      present = [];
    }
  });
});
