/**
 * The baseline rules (policy/rules.ts) on small hand-made objects: each rule fires alone and with
 * its exact message, exempt namespaces are skipped, and the policy pack's two policies
 * (policy/policies.ts) apply the rules to what the engine hands them.
 */
import {
  unknownCheckingProxy,
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type StackValidationArgs,
} from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { kubernetesObject, objectPolicy, policies, stackPolicy } from "../policy/policies";
import {
  checkCrossObject,
  checkObject,
  checkObjects,
  EXEMPT_NAMESPACES,
  NEEDS_TOKEN_ANNOTATION,
  RULES,
  type KubeObject,
} from "../policy/rules";

const NS = "enclii-platform";
const DEPLOYMENT = `Deployment ${NS}/web`;
const LABELS = { app: "web" };

/** Passes every rule on its own; replicas 2, so with others it needs a PDB. */
function deployment(): any {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: LABELS },
      template: {
        metadata: { labels: LABELS },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "web",
              image: "ghcr.io/enclii/web:1.4.2",
              ports: [{ containerPort: 8080 }],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
              readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
              livenessProbe: { httpGet: { path: "/health", port: 8080 } },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
        },
      },
    },
  };
}

/** The compliant Deployment with `change` applied to its pod spec (`pod`) and first container (`c`). */
function mutated(change: (pod: any, c: any) => void, namespace = NS): any {
  const d = deployment();
  d.metadata.namespace = namespace;
  change(d.spec.template.spec, d.spec.template.spec.containers[0]);
  return d;
}

const violation = (rule: string, message: string, object = DEPLOYMENT) => ({ rule, object, message });

const namespace = (name: string, labels: Record<string, string> = { "pod-security.kubernetes.io/enforce": "restricted" }): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
const defaultDeny = (ns: string): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "default-deny", namespace: ns },
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
});
const pdb = (ns: string, name: string, selector: Record<string, unknown>): KubeObject => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name, namespace: ns },
  spec: { minAvailable: 1, selector },
});

describe("the compliant workload", () => {
  it("has no violations on its own", () => {
    expect(checkObject(deployment())).toEqual([]);
  });

  it("has none with its namespace, default-deny and PDB", () => {
    expect(checkObjects([namespace(NS), defaultDeny(NS), deployment(), pdb(NS, "web", { matchLabels: LABELS })])).toEqual([]);
  });
});

describe("Pod Security Standards: restricted", () => {
  it.each([
    ["hostNetwork", (p: any) => (p.hostNetwork = true), violation(RULES.hostNamespaces, "pod must not set hostNetwork=true")],
    ["hostPID", (p: any) => (p.hostPID = true), violation(RULES.hostNamespaces, "pod must not set hostPID=true")],
    ["hostIPC", (p: any) => (p.hostIPC = true), violation(RULES.hostNamespaces, "pod must not set hostIPC=true")],
    [
      "privileged",
      (_: any, c: any) => (c.securityContext.privileged = true),
      violation(RULES.privileged, 'container "web" must not set securityContext.privileged=true'),
    ],
    [
      "a hostPath volume",
      (p: any) => (p.volumes = [{ name: "host", hostPath: { path: "/var/run" } }]),
      violation(
        RULES.volumeTypes,
        'volume "host" must not be of type hostPath (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)',
      ),
    ],
    [
      "an nfs volume",
      (p: any) => (p.volumes = [{ name: "share", nfs: { server: "10.0.1.5", path: "/" } }]),
      violation(
        RULES.volumeTypes,
        'volume "share" must not be of type nfs (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)',
      ),
    ],
    [
      "a hostPort",
      (_: any, c: any) => (c.ports = [{ containerPort: 8080, hostPort: 80 }]),
      violation(RULES.hostPorts, 'container "web" must not set hostPort (80)'),
    ],
    [
      "no drop ALL",
      (_: any, c: any) => delete c.securityContext.capabilities,
      violation(RULES.capabilities, 'container "web" must set securityContext.capabilities.drop=["ALL"]'),
    ],
    [
      "adding SYS_ADMIN",
      (_: any, c: any) => (c.securityContext.capabilities.add = ["NET_BIND_SERVICE", "SYS_ADMIN"]),
      violation(RULES.capabilities, 'container "web" must not add the capability SYS_ADMIN (only NET_BIND_SERVICE)'),
    ],
    [
      "allowPrivilegeEscalation true",
      (_: any, c: any) => (c.securityContext.allowPrivilegeEscalation = true),
      violation(RULES.privilegeEscalation, 'container "web" must set securityContext.allowPrivilegeEscalation=false'),
    ],
    [
      "allowPrivilegeEscalation missing",
      (_: any, c: any) => delete c.securityContext.allowPrivilegeEscalation,
      violation(RULES.privilegeEscalation, 'container "web" must set securityContext.allowPrivilegeEscalation=false'),
    ],
    [
      "runAsNonRoot missing on pod and container",
      (p: any) => delete p.securityContext.runAsNonRoot,
      violation(RULES.runAsNonRoot, 'container "web" must set securityContext.runAsNonRoot=true (or the pod must)'),
    ],
    [
      "runAsNonRoot false on the container",
      (_: any, c: any) => (c.securityContext.runAsNonRoot = false),
      violation(RULES.runAsNonRoot, 'container "web" must not set securityContext.runAsNonRoot=false'),
    ],
    [
      "runAsNonRoot false on the pod, reported once",
      (p: any) => (p.securityContext.runAsNonRoot = false),
      violation(RULES.runAsNonRoot, "pod must not set securityContext.runAsNonRoot=false"),
    ],
    [
      "runAsUser 0 on the container",
      (_: any, c: any) => (c.securityContext.runAsUser = 0),
      violation(RULES.runAsUser, 'container "web" must not set securityContext.runAsUser=0'),
    ],
    [
      "runAsUser 0 on the pod",
      (p: any) => (p.securityContext.runAsUser = 0),
      violation(RULES.runAsUser, "pod must not set securityContext.runAsUser=0"),
    ],
    [
      "seccomp Unconfined on the pod, reported once",
      (p: any) => (p.securityContext.seccompProfile = { type: "Unconfined" }),
      violation(RULES.seccomp, "pod must not set securityContext.seccompProfile.type=Unconfined"),
    ],
    [
      "seccomp Unconfined on the container",
      (_: any, c: any) => (c.securityContext.seccompProfile = { type: "Unconfined" }),
      violation(RULES.seccomp, 'container "web" must not set securityContext.seccompProfile.type=Unconfined'),
    ],
    [
      "seccomp missing",
      (p: any) => delete p.securityContext.seccompProfile,
      violation(
        RULES.seccomp,
        'container "web" must set securityContext.seccompProfile.type to RuntimeDefault or Localhost (or the pod must)',
      ),
    ],
    [
      "procMount Unmasked",
      (_: any, c: any) => (c.securityContext.procMount = "Unmasked"),
      violation(RULES.procMount, 'container "web" must not set securityContext.procMount=Unmasked'),
    ],
    [
      "an unsafe sysctl",
      (p: any) =>
        (p.securityContext.sysctls = [
          { name: "net.ipv4.tcp_keepalive_time", value: "60" },
          { name: "kernel.msgmax", value: "65536" },
        ]),
      violation(RULES.sysctls, "pod must not set the unsafe sysctl kernel.msgmax"),
    ],
    [
      "SELinux type spc_t",
      (p: any) => (p.securityContext.seLinuxOptions = { type: "spc_t" }),
      violation(RULES.seLinux, "pod must not set securityContext.seLinuxOptions.type=spc_t"),
    ],
    [
      "an SELinux user",
      (_: any, c: any) => (c.securityContext.seLinuxOptions = { type: "container_t", user: "system_u" }),
      violation(RULES.seLinux, 'container "web" must not set securityContext.seLinuxOptions.user'),
    ],
    [
      "AppArmor Unconfined",
      (_: any, c: any) => (c.securityContext.appArmorProfile = { type: "Unconfined" }),
      violation(RULES.appArmor, 'container "web" must not set securityContext.appArmorProfile.type=Unconfined'),
    ],
    [
      "a Windows HostProcess",
      (p: any) => (p.securityContext.windowsOptions = { hostProcess: true }),
      violation(RULES.hostProcess, "pod must not set securityContext.windowsOptions.hostProcess=true"),
    ],
  ])("refuses %s", (_, change, expected) => {
    expect(checkObject(mutated(change))).toEqual([expected]);
  });

  it("refuses an Unconfined AppArmor annotation and accepts runtime/default", () => {
    const d = deployment();
    d.spec.template.metadata.annotations = {
      "container.apparmor.security.beta.kubernetes.io/web": "unconfined",
      "container.apparmor.security.beta.kubernetes.io/sidecar": "runtime/default",
    };
    expect(checkObject(d)).toEqual([
      violation(RULES.appArmor, "pod must not set the annotation container.apparmor.security.beta.kubernetes.io/web=unconfined"),
    ]);
  });

  it("accepts the container-level settings in place of the pod's", () => {
    const d = mutated((p, c) => {
      p.securityContext = {};
      c.securityContext = {
        ...c.securityContext,
        runAsNonRoot: true,
        seccompProfile: { type: "Localhost", localhostProfile: "profiles/web.json" },
      };
    });
    expect(checkObject(d)).toEqual([]);
  });

  it("holds init containers to the same rules, by name", () => {
    const d = mutated((p) => {
      delete p.securityContext.runAsNonRoot;
      p.initContainers = [{ name: "migrate", image: "ghcr.io/enclii/web:1.4.2", securityContext: { runAsNonRoot: true } }];
    });
    expect(checkObject(d)).toEqual([
      violation(RULES.capabilities, 'init container "migrate" must set securityContext.capabilities.drop=["ALL"]'),
      violation(RULES.privilegeEscalation, 'init container "migrate" must set securityContext.allowPrivilegeEscalation=false'),
      violation(RULES.runAsNonRoot, 'container "web" must set securityContext.runAsNonRoot=true (or the pod must)'),
      violation(RULES.readOnlyRootFilesystem, 'init container "migrate" must set securityContext.readOnlyRootFilesystem=true'),
      violation(RULES.resources, 'init container "migrate" must set resources.requests.cpu'),
      violation(RULES.resources, 'init container "migrate" must set resources.requests.memory'),
      violation(RULES.resources, 'init container "migrate" must set resources.limits.memory'),
    ]);
  });
});

describe("the rest of the baseline (docs/security.md)", () => {
  it.each([
    [
      "readOnlyRootFilesystem missing",
      (_: any, c: any) => delete c.securityContext.readOnlyRootFilesystem,
      [violation(RULES.readOnlyRootFilesystem, 'container "web" must set securityContext.readOnlyRootFilesystem=true')],
    ],
    [
      "no requests",
      (_: any, c: any) => delete c.resources.requests,
      [
        violation(RULES.resources, 'container "web" must set resources.requests.cpu'),
        violation(RULES.resources, 'container "web" must set resources.requests.memory'),
      ],
    ],
    [
      "no memory limit",
      (_: any, c: any) => (c.resources.limits = { cpu: "1" }),
      [violation(RULES.resources, 'container "web" must set resources.limits.memory')],
    ],
    [
      "no probes",
      (_: any, c: any) => {
        delete c.readinessProbe;
        delete c.livenessProbe;
      },
      [
        violation(RULES.probes, 'container "web" must set readinessProbe'),
        violation(RULES.probes, 'container "web" must set livenessProbe'),
      ],
    ],
    [
      "a :latest image",
      (_: any, c: any) => (c.image = "ghcr.io/enclii/web:latest"),
      [
        violation(
          RULES.pinnedImage,
          'container "web" image "ghcr.io/enclii/web:latest" must be pinned to a tag other than latest, or a digest',
        ),
      ],
    ],
    [
      "an untagged image",
      (_: any, c: any) => (c.image = "ghcr.io/enclii/web"),
      [violation(RULES.pinnedImage, 'container "web" image "ghcr.io/enclii/web" must be pinned to a tag other than latest, or a digest')],
    ],
    [
      "an untagged image from a registry with a port",
      (_: any, c: any) => (c.image = "registry.local:5000/web"),
      [
        violation(
          RULES.pinnedImage,
          'container "web" image "registry.local:5000/web" must be pinned to a tag other than latest, or a digest',
        ),
      ],
    ],
    [
      "the token automounted without a reason",
      (p: any) => delete p.automountServiceAccountToken,
      [
        violation(
          RULES.serviceAccountToken,
          `pod must set automountServiceAccountToken=false, or say why it needs the token in the annotation ${NEEDS_TOKEN_ANNOTATION}`,
        ),
      ],
    ],
  ])("refuses %s", (_, change, expected) => {
    expect(checkObject(mutated(change))).toEqual(expected);
  });

  it("accepts a digest, and a tag after a registry port", () => {
    expect(
      checkObject(
        mutated((_, c) => (c.image = "ghcr.io/enclii/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")),
      ),
    ).toEqual([]);
    expect(checkObject(mutated((_, c) => (c.image = "registry.local:5000/web:1.4.2")))).toEqual([]);
  });

  it("accepts the token when the pod says why, and only with a reason", () => {
    const d = mutated((p) => delete p.automountServiceAccountToken);
    d.spec.template.metadata.annotations = { [NEEDS_TOKEN_ANNOTATION]: "watches its own Lease" };
    expect(checkObject(d)).toEqual([]);
    d.spec.template.metadata.annotations = { [NEEDS_TOKEN_ANNOTATION]: "" };
    expect(checkObject(d).map((v) => v.rule)).toEqual([RULES.serviceAccountToken]);
  });

  it("asks no probes of Jobs and CronJobs, but everything else", () => {
    const pod = deployment().spec.template;
    for (const c of pod.spec.containers) {
      delete c.readinessProbe;
      delete c.livenessProbe;
    }
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: NS }, spec: { template: pod } };
    const cron = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "prune", namespace: NS },
      spec: { schedule: "0 4 * * *", jobTemplate: { spec: { template: pod } } },
    };
    expect(checkObject(job)).toEqual([]);
    expect(checkObject(cron)).toEqual([]);
    cron.spec.jobTemplate.spec.template.spec.containers[0].image = "busybox";
    expect(checkObject(cron)).toEqual([
      violation(
        RULES.pinnedImage,
        'container "web" image "busybox" must be pinned to a tag other than latest, or a digest',
        `CronJob ${NS}/prune`,
      ),
    ]);
  });

  it("checks every kind with a pod template, and bare Pods", () => {
    const template = mutated((p) => (p.hostNetwork = true)).spec.template;
    const objects = [
      { apiVersion: "apps/v1", kind: "StatefulSet", spec: { template } },
      { apiVersion: "apps/v1", kind: "DaemonSet", spec: { template } },
      { apiVersion: "apps/v1", kind: "ReplicaSet", spec: { template } },
      { apiVersion: "v1", kind: "Pod", metadata: template.metadata, spec: template.spec },
    ].map((o) => ({ ...o, metadata: { ...o.metadata, name: "x", namespace: NS } }));
    expect(objects.flatMap(checkObject).map((v) => `${v.object}: ${v.message}`)).toEqual([
      `StatefulSet ${NS}/x: pod must not set hostNetwork=true`,
      `DaemonSet ${NS}/x: pod must not set hostNetwork=true`,
      `ReplicaSet ${NS}/x: pod must not set hostNetwork=true`,
      `Pod ${NS}/x: pod must not set hostNetwork=true`,
    ]);
  });
});

describe("cross-object rules", () => {
  it("wants a PDB selecting the pods of a workload with replicas 2", () => {
    expect(checkObjects([namespace(NS), defaultDeny(NS), deployment()])).toEqual([
      violation(RULES.podDisruptionBudget, `may run 2 replicas, but no PodDisruptionBudget in ${NS} selects its pods`),
    ]);
  });

  it("matches the PDB's selector against the pod labels, in the workload's namespace only", () => {
    const others = [namespace(NS), defaultDeny(NS), deployment()];
    const missing = [violation(RULES.podDisruptionBudget, `may run 2 replicas, but no PodDisruptionBudget in ${NS} selects its pods`)];
    expect(checkObjects([...others, pdb(NS, "other", { matchLabels: { app: "other" } })])).toEqual(missing);
    expect(checkObjects([...others, pdb("enclii-data", "web", { matchLabels: LABELS })])).toEqual(missing);
    expect(
      checkObjects([...others, pdb(NS, "web", { matchExpressions: [{ key: "app", operator: "In", values: ["web", "api"] }] })]),
    ).toEqual([]);
  });

  it("counts what a HorizontalPodAutoscaler may scale a workload to", () => {
    const autoscaled = deployment();
    delete autoscaled.spec.replicas;
    const hpa = (target: string): KubeObject => ({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: target, namespace: NS },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: 1, maxReplicas: 4 },
    });
    expect(checkCrossObject([autoscaled])).toEqual([]);
    expect(checkCrossObject([autoscaled, hpa("other")])).toEqual([]);
    expect(checkCrossObject([autoscaled, hpa("web")])).toEqual([
      violation(RULES.podDisruptionBudget, `may run 4 replicas, but no PodDisruptionBudget in ${NS} selects its pods`),
    ]);
  });

  it("wants no PDB for a single replica or a DaemonSet", () => {
    const single = deployment();
    single.spec.replicas = 1;
    const daemons = { ...deployment(), kind: "DaemonSet" };
    expect(checkCrossObject([single, daemons])).toEqual([]);
  });

  it("wants a default-deny NetworkPolicy in every namespace we create", () => {
    const expected = [
      violation(
        RULES.defaultDeny,
        "namespace needs a default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, every rule naming its peers)",
        `Namespace ${NS}`,
      ),
    ];
    expect(checkObjects([namespace(NS)])).toEqual(expected);
    const ingressOnly = { ...defaultDeny(NS), spec: { podSelector: {}, policyTypes: ["Ingress"] } };
    const allowsAll = { ...defaultDeny(NS), spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], egress: [{}] } };
    const somePods = { ...defaultDeny(NS), spec: { podSelector: { matchLabels: LABELS }, policyTypes: ["Ingress", "Egress"] } };
    const allowsAllIn = {
      ...defaultDeny(NS),
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{ ports: [{ port: 80 }] }] },
    };
    for (const policy of [ingressOnly, allowsAll, allowsAllIn, somePods]) expect(checkObjects([namespace(NS), policy])).toEqual(expected);
    expect(checkObjects([namespace(NS), defaultDeny("enclii-data")])).toEqual(expected);
  });

  it("takes one policy that denies by default and names its allowances (a tenant's) as the default-deny", () => {
    const merged = {
      ...defaultDeny(NS),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "enclii-tenant-router" } } }] }],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }] }],
      },
    };
    expect(checkObjects([namespace(NS), merged])).toEqual([]);
  });

  it("wants restricted Pod Security enforced on every namespace we create", () => {
    expect(
      checkObject(namespace(NS, { "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" })),
    ).toEqual([
      violation(RULES.podSecurityLabel, "namespace must carry the label pod-security.kubernetes.io/enforce=restricted", `Namespace ${NS}`),
    ]);
    expect(checkObject({ ...namespace(NS), metadata: { name: NS } })).toHaveLength(1);
  });
});

describe("exempt namespaces", () => {
  it("names a reason for each of kube-system, longhorn-system, cert-manager, cnpg-system and monitoring-agents", () => {
    expect(Object.keys(EXEMPT_NAMESPACES).sort()).toEqual([
      "cert-manager",
      "cnpg-system",
      "kube-system",
      "longhorn-system",
      "monitoring-agents",
    ]);
    for (const reason of Object.values(EXEMPT_NAMESPACES)) expect(reason.length).toBeGreaterThan(20);
  });

  it.each(Object.keys(EXEMPT_NAMESPACES))("skips %s: its objects, its Namespace, its PDBs and its default-deny", (ns) => {
    const privileged = mutated((p, c) => {
      p.hostNetwork = true;
      p.volumes = [{ name: "dev", hostPath: { path: "/dev" } }];
      c.securityContext = { privileged: true };
    }, ns);
    expect(checkObject(privileged)).toEqual([]);
    expect(checkObjects([namespace(ns, { "pod-security.kubernetes.io/enforce": "privileged" }), privileged])).toEqual([]);
  });
});

describe("CloudNativePG custom resources, judged as the pods the operator renders from them", () => {
  const cluster = (spec: Record<string, unknown>): any => ({
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: { name: "enclii-pg", namespace: "enclii-data" },
    spec: {
      instances: 3,
      imageName: "ghcr.io/cloudnative-pg/postgresql:17.11",
      resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "4Gi" } },
      ...spec,
    },
  });
  const CLUSTER = "Cluster enclii-data/enclii-pg";
  const pooler = (instances: number, template?: unknown): any => ({
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Pooler",
    metadata: { name: "postgres", namespace: "enclii-data" },
    spec: { cluster: { name: "enclii-pg" }, instances, type: "rw", ...(template ? { template } : {}) },
  });
  const POOLER = "Pooler enclii-data/postgres";
  const poolerTemplate = {
    metadata: { annotations: { [NEEDS_TOKEN_ANNOTATION]: "reads its Pooler and Secrets" } },
    spec: {
      containers: [
        {
          name: "pgbouncer",
          image: "ghcr.io/cloudnative-pg/pgbouncer:1.25.2",
          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
          livenessProbe: { tcpSocket: { port: 5432 } },
        },
      ],
    },
  };

  it("passes a Cluster with a pinned image and resources: the operator adds restricted contexts, probes and PDBs", () => {
    expect(checkObjects([cluster({})])).toEqual([]);
  });

  it("asks a Cluster for resources and a pinned image", () => {
    const { resources: _, ...noResources } = cluster({}).spec;
    expect(checkObject({ ...cluster({}), spec: { ...noResources, imageName: "ghcr.io/cloudnative-pg/postgresql" } })).toEqual([
      violation(
        RULES.pinnedImage,
        'container "postgres" image "ghcr.io/cloudnative-pg/postgresql" must be pinned to a tag other than latest, or a digest',
        CLUSTER,
      ),
      violation(RULES.resources, 'container "postgres" must set resources.requests.cpu', CLUSTER),
      violation(RULES.resources, 'container "postgres" must set resources.requests.memory', CLUSTER),
      violation(RULES.resources, 'container "postgres" must set resources.limits.memory', CLUSTER),
    ]);
  });

  it("judges a Cluster's security overrides with the same rules", () => {
    expect(checkObject(cluster({ seccompProfile: { type: "Unconfined" }, securityContext: { readOnlyRootFilesystem: false } }))).toEqual([
      violation(RULES.seccomp, "pod must not set securityContext.seccompProfile.type=Unconfined", CLUSTER),
      violation(RULES.seccomp, 'container "postgres" must not set securityContext.seccompProfile.type=Unconfined', CLUSTER),
      violation(RULES.readOnlyRootFilesystem, 'container "postgres" must set securityContext.readOnlyRootFilesystem=true', CLUSTER),
    ]);
    expect(checkObject(cluster({ podSecurityContext: { runAsUser: 0 } }))).toEqual([
      violation(RULES.runAsUser, "pod must not set securityContext.runAsUser=0", CLUSTER),
    ]);
  });

  it("wants the operator's PDBs for a replicated Cluster", () => {
    expect(checkCrossObject([cluster({ enablePDB: false })])).toEqual([
      violation(RULES.podDisruptionBudget, "may run 3 replicas, but no PodDisruptionBudget in enclii-data selects its pods", CLUSTER),
    ]);
  });

  it("asks a Pooler's template for an image, resources and a liveness probe, and the token's reason", () => {
    expect(checkObject(pooler(1))).toEqual([
      violation(RULES.pinnedImage, 'container "pgbouncer" must set an image pinned to a tag other than latest, or a digest', POOLER),
      violation(RULES.resources, 'container "pgbouncer" must set resources.requests.cpu', POOLER),
      violation(RULES.resources, 'container "pgbouncer" must set resources.requests.memory', POOLER),
      violation(RULES.resources, 'container "pgbouncer" must set resources.limits.memory', POOLER),
      violation(RULES.probes, 'container "pgbouncer" must set livenessProbe', POOLER),
      violation(
        RULES.serviceAccountToken,
        `pod must set automountServiceAccountToken=false, or say why it needs the token in the annotation ${NEEDS_TOKEN_ANNOTATION}`,
        POOLER,
      ),
    ]);
    expect(checkObject(pooler(1, poolerTemplate))).toEqual([]);
  });

  it("wants a PDB selecting the operator's poolerName label for two Pooler instances", () => {
    expect(checkCrossObject([pooler(2, poolerTemplate)])).toEqual([
      violation(RULES.podDisruptionBudget, "may run 2 replicas, but no PodDisruptionBudget in enclii-data selects its pods", POOLER),
    ]);
    expect(
      checkCrossObject([pooler(2, poolerTemplate), pdb("enclii-data", "postgres", { matchLabels: { "cnpg.io/poolerName": "postgres" } })]),
    ).toEqual([]);
  });

  it("asks the barman-cloud ObjectStore for its sidecar's resources", () => {
    const store = (sidecar: unknown): KubeObject => ({
      apiVersion: "barmancloud.cnpg.io/v1",
      kind: "ObjectStore",
      metadata: { name: "r2-backups", namespace: "enclii-data" },
      spec: { configuration: { destinationPath: "s3://b/postgres/" }, ...(sidecar ? { instanceSidecarConfiguration: sidecar } : {}) },
    });
    const STORE = "ObjectStore enclii-data/r2-backups";
    expect(checkObject(store(undefined))).toEqual([
      violation(RULES.resources, 'sidecar "plugin-barman-cloud" must set instanceSidecarConfiguration.resources.requests.cpu', STORE),
      violation(RULES.resources, 'sidecar "plugin-barman-cloud" must set instanceSidecarConfiguration.resources.requests.memory', STORE),
      violation(RULES.resources, 'sidecar "plugin-barman-cloud" must set instanceSidecarConfiguration.resources.limits.memory', STORE),
    ]);
    expect(checkObject(store({ resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "1Gi" } } }))).toEqual([]);
  });

  it("ignores the other custom resources and kinds without pods", () => {
    const others: KubeObject[] = [
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Database",
        metadata: { name: "db-enclii", namespace: "enclii-data" },
        spec: { name: "enclii" },
      },
      { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NS }, spec: { selector: LABELS } },
      { apiVersion: "helm.sh/v3", kind: "Release", metadata: {}, spec: {} },
    ];
    expect(others.flatMap(checkObject)).toEqual([]);
  });
});

describe("the policy pack", () => {
  const opts: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
  const notApplicable = (reason?: string): never => {
    throw new Error(`not applicable: ${reason}`);
  };
  const urnOf = (type: string, name: string) => `urn:pulumi:test::enclii-infra::${type}::${name}`;
  /** Pulumi's type token for an object, and its props without apiVersion and kind, as a resource's inputs may come. */
  const typeOf = (o: KubeObject) => `kubernetes:${o.apiVersion!.includes("/") ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`;
  const bare = ({ apiVersion: _a, kind: _k, ...props }: KubeObject) => props;

  const resourceArgs = (o: KubeObject): ResourceValidationArgs => ({
    type: typeOf(o),
    props: bare(o),
    urn: urnOf(typeOf(o), o.metadata!.name!),
    name: o.metadata!.name!,
    opts,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable,
  });
  const stackResource = (o: KubeObject): PolicyResource => ({
    type: typeOf(o),
    props: bare(o),
    urn: urnOf(typeOf(o), o.metadata!.name!),
    name: o.metadata!.name!,
    opts,
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  });
  const collector = () => {
    const reported: { message: string; urn?: string }[] = [];
    return { reported, report: (message: string, urn?: string) => void reported.push({ message, urn }) };
  };

  it("declares one mandatory resource policy and one mandatory stack policy", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel, "validateResource" in p ? "resource" : "stack"])).toEqual([
      ["enclii-workload-baseline", "mandatory", "resource"],
      ["enclii-cluster-baseline", "mandatory", "stack"],
    ]);
  });

  it("reads apiVersion and kind from the type token when the props lack them", () => {
    expect(kubernetesObject("kubernetes:core/v1:Namespace", { metadata: { name: NS } })).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NS },
    });
    expect(kubernetesObject("kubernetes:postgresql.cnpg.io/v1:Pooler", {})).toEqual({
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Pooler",
    });
    expect(kubernetesObject("kubernetes:apps/v1:Deployment", { apiVersion: "apps/v1", kind: "Deployment" })).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
    });
    expect(kubernetesObject("cloudflare:index/r2Bucket:R2Bucket", {})).toBeUndefined();
  });

  it("reports each object's violations as rule: message", () => {
    const { reported, report } = collector();
    objectPolicy.validateResource(resourceArgs(mutated((p, c) => ((p.hostNetwork = true), (c.image = "web:latest")))), report);
    expect(reported).toEqual([
      { message: "host-namespaces: pod must not set hostNetwork=true", urn: undefined },
      {
        message: 'pinned-image: container "web" image "web:latest" must be pinned to a tag other than latest, or a digest',
        urn: undefined,
      },
    ]);
  });

  it("still checks in a preview, where status and unrelated annotations are unknown", () => {
    /** Pulumi's sentinels for values a preview cannot know (sdk/nodejs/runtime/rpc.ts). */
    const UNKNOWN = { string: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", object: "dd056dcd-154b-4c76-9bd3-c8f88648b5ff" };
    const d = mutated((_, c) => (c.image = "web:latest"));
    d.spec.template.metadata.annotations = { "enclii.io/tunnel-id": UNKNOWN.string };
    const { reported, report } = collector();
    objectPolicy.validateResource({ ...resourceArgs(d), props: unknownCheckingProxy({ ...bare(d), status: UNKNOWN.object }) }, report);
    expect(reported.map((r) => r.message)).toEqual([
      'pinned-image: container "web" image "web:latest" must be pinned to a tag other than latest, or a digest',
    ]);
  });

  it("reports nothing for a compliant object or a non-Kubernetes resource", () => {
    const { reported, report } = collector();
    objectPolicy.validateResource(resourceArgs(deployment()), report);
    objectPolicy.validateResource({ ...resourceArgs(deployment()), type: "cloudflare:index/r2Bucket:R2Bucket" }, report);
    expect(reported).toEqual([]);
  });

  it("reports the cross-object violations against the offending resources' URNs", () => {
    const { reported, report } = collector();
    const args: StackValidationArgs = {
      resources: [namespace(NS), deployment(), namespace("kube-system", {})].map(stackResource),
      stackTags: new Map(),
      getConfig: <T extends object>() => ({}) as T,
      notApplicable,
    };
    stackPolicy.validateStack(args, report);
    expect(reported).toEqual([
      {
        message: `pod-disruption-budget: may run 2 replicas, but no PodDisruptionBudget in ${NS} selects its pods`,
        urn: urnOf("kubernetes:apps/v1:Deployment", "web"),
      },
      {
        message:
          "default-deny: namespace needs a default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, every rule naming its peers)",
        urn: urnOf("kubernetes:core/v1:Namespace", NS),
      },
    ]);
  });
});
