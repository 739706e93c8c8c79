/**
 * The workload baseline (docs/security.md) as pure checks over plain Kubernetes objects: the JSON the
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
import { NEEDS_TOKEN_ANNOTATION, RESTRICTED_NAMESPACE_LABELS, UNPINNED_TAG, imageProblem } from "../model/baseline";
import { BARMAN_OBJECT_STORE, CNPG_GROUP, cnpgClusterPods, cnpgPoolerPods } from "./cnpg";
import {
  EXEMPT_NAMESPACES,
  RULES,
  allContainers,
  isExempt,
  namespaceOf,
  nameOf,
  objectRef,
  replicasOf,
  type KubeObject,
  type LabelSelector,
  type Labels,
  type PodSpec,
  type PodTemplate,
  type Pods,
  type Report,
  type Resources,
  type Violation,
} from "./objects";
import { podSecurity } from "./pss";

export { EXEMPT_NAMESPACES, NEEDS_TOKEN_ANNOTATION, RULES, objectRef, type KubeObject, type Violation };

const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
const RESTRICTED = RESTRICTED_NAMESPACE_LABELS[POD_SECURITY_ENFORCE_LABEL];

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
      return {
        metadata: obj.metadata ?? {},
        spec: podSpec,
        replicas: 1,
        longRunning: podSpec.restartPolicy !== "Never" && podSpec.restartPolicy !== "OnFailure",
        ownDisruptionBudget: false,
      };
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

function resourceViolations(who: string, path: string, resources: Resources | undefined, add: Report): void {
  for (const [section, key] of [
    ["requests", "cpu"],
    ["requests", "memory"],
    ["limits", "memory"],
  ] as const) {
    if (resources?.[section]?.[key] === undefined) add(RULES.resources, `${who} must set ${path}.${section}.${key}`);
  }
}

/** The baseline (docs/security.md) beyond Pod Security: read-only root, resources, probes, pinned images, no API token. */
function workloadBaseline(pods: Pods, add: Report): void {
  for (const c of allContainers(pods.spec)) {
    const who = nameOf(c);
    if (c.container.securityContext?.readOnlyRootFilesystem !== true)
      add(RULES.readOnlyRootFilesystem, `${who} must set securityContext.readOnlyRootFilesystem=true`);
    if (c.container.image === undefined)
      add(RULES.pinnedImage, `${who} must set an image pinned to a tag other than ${UNPINNED_TAG}, or a digest`);
    else if (imageProblem(c.container.image) !== undefined)
      add(RULES.pinnedImage, `${who} image "${c.container.image}" must be pinned to a tag other than ${UNPINNED_TAG}, or a digest`);
    // Ephemeral containers (kubectl debug) cannot have resources or probes.
    if (c.kind === "ephemeral container") continue;
    resourceViolations(who, "resources", c.container.resources, add);
    if (pods.longRunning && c.kind === "container") {
      if (c.container.readinessProbe === undefined) add(RULES.probes, `${who} must set readinessProbe`);
      if (c.container.livenessProbe === undefined) add(RULES.probes, `${who} must set livenessProbe`);
    }
  }
  if (pods.spec.automountServiceAccountToken !== false && !pods.metadata.annotations?.[NEEDS_TOKEN_ANNOTATION]) {
    add(
      RULES.serviceAccountToken,
      `pod must set automountServiceAccountToken=false, or say why it needs the token in the annotation ${NEEDS_TOKEN_ANNOTATION}`,
    );
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
/**
 * A policy that selects every pod for both directions isolates the namespace: only what some
 * policy's rules name gets through. It may carry allowances itself (a tenant's one policy does),
 * as long as each rule names its peers: a rule without peers admits everyone and denies nothing.
 */
function isDefaultDeny(obj: KubeObject): boolean {
  type Rule = { from?: unknown[]; to?: unknown[] };
  const spec = (obj.spec ?? {}) as { podSelector?: LabelSelector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
  const allPods = Object.keys(spec.podSelector?.matchLabels ?? {}).length === 0 && (spec.podSelector?.matchExpressions ?? []).length === 0;
  const types = spec.policyTypes ?? [];
  const namesPeers = (r: Rule) => (r.from ?? r.to ?? []).length > 0;
  return (
    allPods &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    (spec.ingress ?? []).every(namesPeers) &&
    (spec.egress ?? []).every(namesPeers)
  );
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
    if (
      !inNamespace("PodDisruptionBudget", namespace).some((pdb) =>
        selects((pdb.spec as { selector?: LabelSelector } | undefined)?.selector, labels),
      )
    ) {
      violations.push({
        rule: RULES.podDisruptionBudget,
        object: objectRef(obj),
        message: `may run ${replicas} replicas, but no PodDisruptionBudget in ${namespace} selects its pods`,
      });
    }
  }
  for (const ns of ours.filter((o) => o.kind === "Namespace")) {
    if (!inNamespace("NetworkPolicy", namespaceOf(ns)).some(isDefaultDeny)) {
      violations.push({
        rule: RULES.defaultDeny,
        object: objectRef(ns),
        message:
          "namespace needs a default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, every rule naming its peers)",
      });
    }
  }
  return violations;
}

/** Every rule: each object's own, then the cross-object ones. */
export function checkObjects(objs: KubeObject[]): Violation[] {
  return [...objs.flatMap(checkObject), ...checkCrossObject(objs)];
}
