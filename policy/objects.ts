/** The shapes the baseline rules read, and the helpers every rule file shares. */
import { KUBE_SYSTEM_NAMESPACE } from "../model/names";
import { POD_SECURITY } from "../model/baseline";
import { AGENTS_NAMESPACE } from "../model/observability/config";
import { CHARTS } from "../model/pins";

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
  [KUBE_SYSTEM_NAMESPACE]:
    "k3s's own components (CoreDNS, metrics-server), deployed by k3s itself; we only put the etcd snapshot Secret there",
  [CHARTS.longhorn.namespace]: "Longhorn's manager, CSI and instance-manager pods need privileged access to the host's disks and iSCSI",
  [CHARTS.certManager.namespace]: "filled by the upstream cert-manager Helm chart in the cluster; the program renders none of its objects",
  [AGENTS_NAMESPACE]:
    "node-exporter, from the upstream kube-prometheus-stack chart: it reads the host's /proc, /sys and root filesystem on the host network",
  [CHARTS.cnpg.namespace]:
    "filled by the upstream CloudNativePG and barman-cloud Helm charts in the cluster; the program renders none of their objects",
};

const DEFAULT_NAMESPACE = "default";
export const DROP_ALL = POD_SECURITY.dropAll;

export type Labels = Record<string, string>;

export interface Metadata {
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

export interface SeccompProfile {
  type?: string;
}

export interface SeLinuxOptions {
  type?: string;
  user?: string;
  role?: string;
}

/** The fields both pod and container security contexts have. */
export interface CommonSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: SeccompProfile;
  seLinuxOptions?: SeLinuxOptions;
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
}

export interface SecurityContext extends CommonSecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  procMount?: string;
}

export interface PodSecurityContext extends CommonSecurityContext {
  sysctls?: { name: string }[];
}

export interface Resources {
  requests?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

export interface Container {
  name: string;
  image?: string;
  securityContext?: SecurityContext;
  resources?: Resources;
  ports?: { hostPort?: number }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}

type Volume = { name: string } & Record<string, unknown>;

export interface PodSpec {
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

export interface PodTemplate {
  metadata?: Metadata;
  spec?: PodSpec;
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A workload's pods, as far as the rules need them. */
export interface Pods {
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

export function namespaceOf(obj: KubeObject): string {
  return obj.kind === "Namespace" ? (obj.metadata?.name ?? "") : (obj.metadata?.namespace ?? DEFAULT_NAMESPACE);
}

export function isExempt(obj: KubeObject): boolean {
  return Object.keys(EXEMPT_NAMESPACES).includes(namespaceOf(obj));
}

export const replicasOf = (n: unknown) => (typeof n === "number" ? n : 1);

export type Report = (rule: string, message: string) => void;

export interface Named {
  kind: "container" | "init container" | "ephemeral container";
  container: Container;
}

export const nameOf = (c: Named) => `${c.kind} "${c.container.name}"`;

export function allContainers(spec: PodSpec): Named[] {
  return [
    ...(spec.initContainers ?? []).map((container) => ({ kind: "init container" as const, container })),
    ...(spec.containers ?? []).map((container) => ({ kind: "container" as const, container })),
    ...(spec.ephemeralContainers ?? []).map((container) => ({ kind: "ephemeral container" as const, container })),
  ];
}
