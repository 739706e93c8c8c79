/**
 * The workload baseline (DESIGN §6) as pure checks over plain Kubernetes objects: the JSON the
 * program registers as resource inputs. One implementation, run in two places: the policy pack
 * (`pulumi preview --policy-pack policy`, see ./policies.ts) and the whole-stack test
 * (test/baseline.test.ts), so what CI proves is what the engine enforces.
 *
 * Pod security follows the Pod Security Standards "restricted" profile as Kubernetes v1.33's
 * admission controller applies it (k8s.io/pod-security-admission, policy/check_*.go), for Linux
 * pods. The namespaces' `enforce: restricted` label makes the API server refuse such pods too, but
 * only when a controller creates them, after the update has reported success; these checks refuse
 * them before anything is deployed, and cover what admission does not (read-only root, resources,
 * probes, pinned images, the token, PDBs, default-deny).
 */
import { NEEDS_TOKEN_ANNOTATION } from "../components/baseline";
import { CNPG_PGBOUNCER_CONTAINER, CNPG_POOLER_LABEL } from "../components/data/contract";

export { NEEDS_TOKEN_ANNOTATION };

export interface Violation {
  rule: string;
  /** "Kind namespace/name" ("Kind name" for cluster-scoped objects). */
  object: string;
  message: string;
}

export const RULES = {
  hostNamespaces: "host-namespaces",
  hostProcess: "host-process",
  privileged: "privileged",
  volumeTypes: "volume-types",
  hostPorts: "host-ports",
  capabilities: "capabilities",
  privilegeEscalation: "privilege-escalation",
  runAsNonRoot: "run-as-non-root",
  runAsUser: "run-as-user",
  seccomp: "seccomp",
  procMount: "proc-mount",
  sysctls: "sysctls",
  seLinux: "selinux",
  appArmor: "apparmor",
  readOnlyRootFilesystem: "read-only-root-filesystem",
  resources: "resources",
  probes: "probes",
  pinnedImage: "pinned-image",
  serviceAccountToken: "service-account-token",
  podDisruptionBudget: "pod-disruption-budget",
  defaultDeny: "default-deny",
  podSecurityLabel: "pod-security-label",
} as const;

/**
 * Namespaces whose objects are not ours to hold to the baseline, each with the reason. Anything
 * else the program registers a Namespace for is ours.
 */
export const EXEMPT_NAMESPACES: Readonly<Record<string, string>> = {
  "kube-system": "k3s's own components (CoreDNS, metrics-server), deployed by k3s itself; we only put the etcd snapshot Secret there",
  "longhorn-system": "Longhorn's manager, CSI and instance-manager pods need privileged access to the host's disks and iSCSI",
  "cert-manager": "filled by the upstream cert-manager Helm chart in the cluster; the program renders none of its objects",
  "cnpg-system": "filled by the upstream CloudNativePG and barman-cloud Helm charts in the cluster; the program renders none of their objects",
};

const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
const RESTRICTED = "restricted";

const DEFAULT_NAMESPACE = "default";
const ALLOWED_VOLUME_TYPES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
const ALLOWED_CAPABILITY = "NET_BIND_SERVICE";
const DROP_ALL = "ALL";
const ALLOWED_SECCOMP = ["RuntimeDefault", "Localhost"];
const ALLOWED_APPARMOR = ["RuntimeDefault", "Localhost"];
const APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";
const DEFAULT_PROC_MOUNT = "Default";
/** Safe sysctls as of v1.32 (unchanged in v1.33). */
const SAFE_SYSCTLS = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
];
const ALLOWED_SELINUX_TYPES = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
const UNPINNED_TAG = "latest";

type Labels = Record<string, string>;

interface Metadata {
  name?: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Metadata;
  spec?: unknown;
}

interface SeccompProfile {
  type?: string;
}

interface SeLinuxOptions {
  type?: string;
  user?: string;
  role?: string;
}

/** The fields both pod and container security contexts have. */
interface CommonSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: SeccompProfile;
  seLinuxOptions?: SeLinuxOptions;
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
}

interface SecurityContext extends CommonSecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  procMount?: string;
}

interface PodSecurityContext extends CommonSecurityContext {
  sysctls?: { name: string }[];
}

interface Resources {
  requests?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

interface Container {
  name: string;
  image?: string;
  securityContext?: SecurityContext;
  resources?: Resources;
  ports?: { hostPort?: number }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}

type Volume = { name: string } & Record<string, unknown>;

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: PodSecurityContext;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Volume[];
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
}

interface PodTemplate {
  metadata?: Metadata;
  spec?: PodSpec;
}

interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A workload's pods, as far as the rules need them. */
interface Pods {
  metadata: Metadata;
  spec: PodSpec;
  replicas: number;
  /** Probes are for pods that keep running; a Job's pods run to completion. */
  longRunning: boolean;
  /** An operator keeps its own PodDisruptionBudget for these pods. */
  ownDisruptionBudget: boolean;
}

export function objectRef(obj: KubeObject): string {
  const name = obj.metadata?.name ?? "<unnamed>";
  return obj.metadata?.namespace ? `${obj.kind} ${obj.metadata.namespace}/${name}` : `${obj.kind} ${name}`;
}

function namespaceOf(obj: KubeObject): string {
  return obj.kind === "Namespace" ? (obj.metadata?.name ?? "") : (obj.metadata?.namespace ?? DEFAULT_NAMESPACE);
}

function isExempt(obj: KubeObject): boolean {
  return Object.keys(EXEMPT_NAMESPACES).includes(namespaceOf(obj));
}

const allowedAppArmorAnnotation = (value: string) => value === "" || value === "runtime/default" || value.startsWith("localhost/");

const replicasOf = (n: unknown) => (typeof n === "number" ? n : 1);

/**
 * CloudNativePG (1.30) renders the pods of a Cluster and a Pooler itself. These model the pod
 * the operator builds (pkg/specs/pods.go, containers.go, pgbouncer/deployments.go) from what the
 * custom resource decides, so the same rules judge the fields the CR exposes: image, resources,
 * security context overrides, the Pooler's pod template. What the operator always adds is taken
 * as it adds it: its restricted security contexts, its probes (Postgres: startup, readiness and
 * liveness; PgBouncer: readiness only), the Cluster's PodDisruptionBudgets (`enablePDB`), and a
 * projected token volume on instance pods instead of the automounted token. The operator's own
 * short-lived bootstrap init container (copies the instance manager, exits) is not modelled: its
 * image is the operator's, and on a Cluster its resources are `spec.resources`, checked here.
 */
const CNPG_GROUP = "postgresql.cnpg.io/";
const CNPG_CLUSTER_LABEL = "cnpg.io/cluster";
const CNPG_POSTGRES_UID = 26;
const CNPG_PGBOUNCER_UID = 998;
const CNPG_POSTGRES_CONTAINER = "postgres";
const RUNTIME_DEFAULT: SeccompProfile = { type: "RuntimeDefault" };
const CNPG_CONTAINER_SECURITY: SecurityContext = {
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: [DROP_ALL] },
};
/** Stands for a probe the operator adds to every pod it renders. */
const OPERATOR_PROBE = {};

interface CnpgClusterSpec {
  instances?: number;
  imageName?: string;
  resources?: Resources;
  enablePDB?: boolean;
  postgresUID?: number;
  seccompProfile?: SeccompProfile;
  podSecurityContext?: PodSecurityContext;
  securityContext?: SecurityContext;
}

function cnpgClusterPods(obj: KubeObject): Pods {
  const spec = (obj.spec ?? {}) as CnpgClusterSpec;
  const seccompProfile = spec.seccompProfile ?? RUNTIME_DEFAULT;
  const runAsUser = spec.postgresUID ?? CNPG_POSTGRES_UID;
  return {
    metadata: { labels: { [CNPG_CLUSTER_LABEL]: obj.metadata?.name ?? "" } },
    spec: {
      automountServiceAccountToken: false,
      // An override replaces the operator's pod context; only the user and seccomp profile are defaulted.
      securityContext: spec.podSecurityContext ? { runAsUser, seccompProfile, ...spec.podSecurityContext } : { runAsNonRoot: true, runAsUser, seccompProfile },
      containers: [
        {
          name: CNPG_POSTGRES_CONTAINER,
          image: spec.imageName,
          resources: spec.resources,
          // Unlike the pod's, a container override is merged field by field over the operator's.
          securityContext: { ...CNPG_CONTAINER_SECURITY, seccompProfile, ...spec.securityContext },
          readinessProbe: OPERATOR_PROBE,
          livenessProbe: OPERATOR_PROBE,
        },
      ],
    },
    replicas: replicasOf(spec.instances),
    longRunning: true,
    ownDisruptionBudget: spec.enablePDB !== false,
  };
}

interface CnpgPoolerSpec {
  instances?: number;
  template?: PodTemplate;
}

function cnpgPoolerPods(obj: KubeObject): Pods {
  const spec = (obj.spec ?? {}) as CnpgPoolerSpec;
  const template = spec.template ?? {};
  const podSpec = template.spec ?? {};
  const containers = podSpec.containers ?? [];
  const pgbouncer = containers.find((c) => c.name === CNPG_PGBOUNCER_CONTAINER) ?? { name: CNPG_PGBOUNCER_CONTAINER };
  return {
    metadata: { ...template.metadata, labels: { ...template.metadata?.labels, [CNPG_POOLER_LABEL]: obj.metadata?.name ?? "" } },
    spec: {
      ...podSpec,
      // The operator sets both security contexts whatever the template says (from the Cluster's
      // seccomp profile, RuntimeDefault unless the Cluster overrides it, which its own check sees).
      securityContext: { runAsNonRoot: true, runAsUser: CNPG_PGBOUNCER_UID, seccompProfile: RUNTIME_DEFAULT },
      containers: [
        {
          ...pgbouncer,
          securityContext: { ...CNPG_CONTAINER_SECURITY, seccompProfile: RUNTIME_DEFAULT },
          readinessProbe: pgbouncer.readinessProbe ?? OPERATOR_PROBE,
        },
        ...containers.filter((c) => c !== pgbouncer),
      ],
    },
    replicas: replicasOf(spec.instances),
    longRunning: true,
    ownDisruptionBudget: false,
  };
}

/** The sidecar the barman-cloud plugin injects into every Postgres pod takes its resources from the ObjectStore. */
const BARMAN_OBJECT_STORE = { apiVersion: "barmancloud.cnpg.io/v1", kind: "ObjectStore", container: "plugin-barman-cloud" } as const;

function podsOf(obj: KubeObject): Pods | undefined {
  const spec = (obj.spec ?? {}) as { replicas?: unknown; template?: PodTemplate; jobTemplate?: { spec?: { template?: PodTemplate } } };
  const fromTemplate = (template: PodTemplate | undefined, replicas: number, longRunning: boolean): Pods => ({
    metadata: template?.metadata ?? {},
    spec: template?.spec ?? {},
    replicas,
    longRunning,
    ownDisruptionBudget: false,
  });
  if (obj.apiVersion?.startsWith(CNPG_GROUP)) {
    if (obj.kind === "Cluster") return cnpgClusterPods(obj);
    if (obj.kind === "Pooler") return cnpgPoolerPods(obj);
    return undefined;
  }
  switch (obj.kind) {
    case "Pod": {
      const podSpec = (obj.spec ?? {}) as PodSpec;
      return { metadata: obj.metadata ?? {}, spec: podSpec, replicas: 1, longRunning: podSpec.restartPolicy !== "Never" && podSpec.restartPolicy !== "OnFailure", ownDisruptionBudget: false };
    }
    case "Deployment":
    case "StatefulSet":
    case "ReplicaSet":
      return fromTemplate(spec.template, replicasOf(spec.replicas), true);
    // One pod per node, and `kubectl drain --ignore-daemonsets` leaves them: a PDB would protect nothing.
    case "DaemonSet":
      return fromTemplate(spec.template, 1, true);
    case "Job":
      return fromTemplate(spec.template, 1, false);
    case "CronJob":
      return fromTemplate(spec.jobTemplate?.spec?.template, 1, false);
    default:
      return undefined;
  }
}

/** Whether the rules see pods in this object: a workload, or a CloudNativePG Cluster or Pooler. */
export function hasPods(obj: KubeObject): boolean {
  return podsOf(obj) !== undefined;
}

type Report = (rule: string, message: string) => void;
interface Named {
  kind: "container" | "init container" | "ephemeral container";
  container: Container;
}

const nameOf = (c: Named) => `${c.kind} "${c.container.name}"`;

function allContainers(spec: PodSpec): Named[] {
  return [
    ...(spec.initContainers ?? []).map((container) => ({ kind: "init container" as const, container })),
    ...(spec.containers ?? []).map((container) => ({ kind: "container" as const, container })),
    ...(spec.ephemeralContainers ?? []).map((container) => ({ kind: "ephemeral container" as const, container })),
  ];
}

/** Pod Security Standards "restricted" (which includes "baseline"), for Linux pods. */
function podSecurity(pods: Pods, add: Report): void {
  const { spec } = pods;
  const pod = spec.securityContext ?? {};
  const containers = allContainers(spec);

  for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[field]) add(RULES.hostNamespaces, `pod must not set ${field}=true`);
  }
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== "name");
    if (type !== undefined && !ALLOWED_VOLUME_TYPES.includes(type)) {
      add(RULES.volumeTypes, `volume "${volume.name}" must not be of type ${type} (allowed: ${ALLOWED_VOLUME_TYPES.join(", ")})`);
    }
  }
  for (const sysctl of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.includes(sysctl.name)) add(RULES.sysctls, `pod must not set the unsafe sysctl ${sysctl.name}`);
  }
  // Values read only for AppArmor keys: in a preview other annotations may be unknown, and reading one makes the policy SDK skip the check.
  const annotations = pods.metadata.annotations ?? {};
  for (const key of Object.keys(annotations).filter((k) => k.startsWith(APPARMOR_ANNOTATION_PREFIX))) {
    if (!allowedAppArmorAnnotation(annotations[key])) add(RULES.appArmor, `pod must not set the annotation ${key}=${annotations[key]}`);
  }
  commonSecurity("pod", pod, add);
  if (pod.runAsNonRoot === false) add(RULES.runAsNonRoot, "pod must not set securityContext.runAsNonRoot=false");
  if (pod.seccompProfile?.type !== undefined && !ALLOWED_SECCOMP.includes(pod.seccompProfile.type)) {
    add(RULES.seccomp, `pod must not set securityContext.seccompProfile.type=${pod.seccompProfile.type}`);
  }

  for (const c of containers) {
    const sc = c.container.securityContext ?? {};
    const who = nameOf(c);
    commonSecurity(who, sc, add);
    if (sc.privileged) add(RULES.privileged, `${who} must not set securityContext.privileged=true`);
    for (const port of c.container.ports ?? []) {
      if (port.hostPort) add(RULES.hostPorts, `${who} must not set hostPort (${port.hostPort})`);
    }
    if (!(sc.capabilities?.drop ?? []).includes(DROP_ALL)) add(RULES.capabilities, `${who} must set securityContext.capabilities.drop=["ALL"]`);
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap !== ALLOWED_CAPABILITY) add(RULES.capabilities, `${who} must not add the capability ${cap} (only ${ALLOWED_CAPABILITY})`);
    }
    if (sc.allowPrivilegeEscalation !== false) add(RULES.privilegeEscalation, `${who} must set securityContext.allowPrivilegeEscalation=false`);
    if (sc.runAsNonRoot === false) add(RULES.runAsNonRoot, `${who} must not set securityContext.runAsNonRoot=false`);
    // As admission does: a pod that sets a bad value is reported once, not again per container.
    else if (sc.runAsNonRoot === undefined && pod.runAsNonRoot === undefined) add(RULES.runAsNonRoot, `${who} must set securityContext.runAsNonRoot=true (or the pod must)`);
    const seccomp = sc.seccompProfile?.type;
    if (seccomp !== undefined && !ALLOWED_SECCOMP.includes(seccomp)) add(RULES.seccomp, `${who} must not set securityContext.seccompProfile.type=${seccomp}`);
    else if (seccomp === undefined && pod.seccompProfile?.type === undefined) {
      add(RULES.seccomp, `${who} must set securityContext.seccompProfile.type to ${ALLOWED_SECCOMP.join(" or ")} (or the pod must)`);
    }
    if (sc.procMount !== undefined && sc.procMount !== DEFAULT_PROC_MOUNT) add(RULES.procMount, `${who} must not set securityContext.procMount=${sc.procMount}`);
  }
}

/** Checks pod and container security contexts share. */
function commonSecurity(who: string, sc: CommonSecurityContext, add: Report): void {
  if (sc.windowsOptions?.hostProcess) add(RULES.hostProcess, `${who} must not set securityContext.windowsOptions.hostProcess=true`);
  if (sc.runAsUser === 0) add(RULES.runAsUser, `${who} must not set securityContext.runAsUser=0`);
  const se = sc.seLinuxOptions;
  if (se?.type !== undefined && !ALLOWED_SELINUX_TYPES.includes(se.type)) add(RULES.seLinux, `${who} must not set securityContext.seLinuxOptions.type=${se.type}`);
  if (se?.user) add(RULES.seLinux, `${who} must not set securityContext.seLinuxOptions.user`);
  if (se?.role) add(RULES.seLinux, `${who} must not set securityContext.seLinuxOptions.role`);
  const appArmor = sc.appArmorProfile?.type;
  if (appArmor !== undefined && !ALLOWED_APPARMOR.includes(appArmor)) add(RULES.appArmor, `${who} must not set securityContext.appArmorProfile.type=${appArmor}`);
}

/** A tag that is not `latest`, or a digest. The tag is after the last ":" that follows the last "/" (a registry may have a port). */
function imagePinned(image: string): boolean {
  if (image.includes("@")) return true;
  const colon = image.lastIndexOf(":");
  const tag = colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "";
  return tag !== "" && tag !== UNPINNED_TAG;
}

function resourceViolations(who: string, path: string, resources: Resources | undefined, add: Report): void {
  for (const [section, key] of [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]] as const) {
    if (resources?.[section]?.[key] === undefined) add(RULES.resources, `${who} must set ${path}.${section}.${key}`);
  }
}

/** DESIGN §6 beyond Pod Security: read-only root, resources, probes, pinned images, no API token. */
function workloadBaseline(pods: Pods, add: Report): void {
  for (const c of allContainers(pods.spec)) {
    const who = nameOf(c);
    if (c.container.securityContext?.readOnlyRootFilesystem !== true) add(RULES.readOnlyRootFilesystem, `${who} must set securityContext.readOnlyRootFilesystem=true`);
    if (c.container.image === undefined) add(RULES.pinnedImage, `${who} must set an image pinned to a tag other than ${UNPINNED_TAG}, or a digest`);
    else if (!imagePinned(c.container.image)) add(RULES.pinnedImage, `${who} image "${c.container.image}" must be pinned to a tag other than ${UNPINNED_TAG}, or a digest`);
    // Ephemeral containers (kubectl debug) cannot have resources or probes.
    if (c.kind === "ephemeral container") continue;
    resourceViolations(who, "resources", c.container.resources, add);
    if (pods.longRunning && c.kind === "container") {
      if (c.container.readinessProbe === undefined) add(RULES.probes, `${who} must set readinessProbe`);
      if (c.container.livenessProbe === undefined) add(RULES.probes, `${who} must set livenessProbe`);
    }
  }
  if (pods.spec.automountServiceAccountToken !== false && !pods.metadata.annotations?.[NEEDS_TOKEN_ANNOTATION]) {
    add(RULES.serviceAccountToken, `pod must set automountServiceAccountToken=false, or say why it needs the token in the annotation ${NEEDS_TOKEN_ANNOTATION}`);
  }
}

/** The rules that need only the object itself. Objects in exempt namespaces have none. */
export function checkObject(obj: KubeObject): Violation[] {
  if (isExempt(obj)) return [];
  const violations: Violation[] = [];
  const object = objectRef(obj);
  const add: Report = (rule, message) => violations.push({ rule, object, message });

  if (obj.kind === "Namespace" && obj.metadata?.labels?.[POD_SECURITY_ENFORCE_LABEL] !== RESTRICTED) {
    add(RULES.podSecurityLabel, `namespace must carry the label ${POD_SECURITY_ENFORCE_LABEL}=${RESTRICTED}`);
  }
  if (obj.apiVersion === BARMAN_OBJECT_STORE.apiVersion && obj.kind === BARMAN_OBJECT_STORE.kind) {
    const sidecar = (obj.spec as { instanceSidecarConfiguration?: { resources?: Resources } } | undefined)?.instanceSidecarConfiguration;
    resourceViolations(`sidecar "${BARMAN_OBJECT_STORE.container}"`, "instanceSidecarConfiguration.resources", sidecar?.resources, add);
  }
  const pods = podsOf(obj);
  if (pods) {
    podSecurity(pods, add);
    workloadBaseline(pods, add);
  }
  return violations;
}

function selects(selector: LabelSelector | undefined, labels: Labels): boolean {
  // policy/v1: a missing selector selects nothing, an empty one everything in the namespace.
  if (!selector) return false;
  const matchLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const matchExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case "In":
        return key in labels && values.includes(labels[key]);
      case "NotIn":
        return !(key in labels) || !values.includes(labels[key]);
      case "Exists":
        return key in labels;
      case "DoesNotExist":
        return !(key in labels);
      default:
        return false;
    }
  });
  return matchLabels && matchExpressions;
}

/** All pods, no rule letting anything in or out: what the explicit allows sit on. */
function isDefaultDeny(obj: KubeObject): boolean {
  const spec = (obj.spec ?? {}) as { podSelector?: LabelSelector; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] };
  const allPods = Object.keys(spec.podSelector?.matchLabels ?? {}).length === 0 && (spec.podSelector?.matchExpressions ?? []).length === 0;
  const types = spec.policyTypes ?? [];
  return allPods && types.includes("Ingress") && types.includes("Egress") && (spec.ingress ?? []).length === 0 && (spec.egress ?? []).length === 0;
}

interface AutoscalerSpec {
  scaleTargetRef?: { kind?: string; name?: string };
  maxReplicas?: unknown;
}

/** The rules that relate objects: a PDB per replicated workload, a default-deny per namespace we own. */
export function checkCrossObject(objs: KubeObject[]): Violation[] {
  const ours = objs.filter((o) => !isExempt(o));
  const violations: Violation[] = [];
  const inNamespace = (kind: string, namespace: string) => ours.filter((o) => o.kind === kind && namespaceOf(o) === namespace);

  for (const obj of ours) {
    const pods = podsOf(obj);
    if (!pods || pods.ownDisruptionBudget) continue;
    const namespace = namespaceOf(obj);
    // An autoscaled workload leaves replicas to its HorizontalPodAutoscaler: what it may scale to counts.
    const scaledTo = inNamespace("HorizontalPodAutoscaler", namespace)
      .map((hpa) => (hpa.spec ?? {}) as AutoscalerSpec)
      .filter((spec) => spec.scaleTargetRef?.kind === obj.kind && spec.scaleTargetRef?.name === obj.metadata?.name)
      .map((spec) => replicasOf(spec.maxReplicas));
    const replicas = Math.max(pods.replicas, ...scaledTo);
    if (replicas <= 1) continue;
    const labels = pods.metadata.labels ?? {};
    if (!inNamespace("PodDisruptionBudget", namespace).some((pdb) => selects((pdb.spec as { selector?: LabelSelector } | undefined)?.selector, labels))) {
      violations.push({ rule: RULES.podDisruptionBudget, object: objectRef(obj), message: `may run ${replicas} replicas, but no PodDisruptionBudget in ${namespace} selects its pods` });
    }
  }
  for (const ns of ours.filter((o) => o.kind === "Namespace")) {
    if (!inNamespace("NetworkPolicy", namespaceOf(ns)).some(isDefaultDeny)) {
      violations.push({
        rule: RULES.defaultDeny,
        object: objectRef(ns),
        message: "namespace needs a default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)",
      });
    }
  }
  return violations;
}

/** Every rule: each object's own, then the cross-object ones. */
export function checkObjects(objs: KubeObject[]): Violation[] {
  return [...objs.flatMap(checkObject), ...checkCrossObject(objs)];
}
