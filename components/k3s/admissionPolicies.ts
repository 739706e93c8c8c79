/**
 * The workload baseline's rules (policy/rules.ts) that one object shows, as ValidatingAdmissionPolicies
 * the API server enforces on every write, whoever makes it: `kubectl apply`, the control plane, a
 * controller creating pods (docs/nodes-and-k3s.md#in-cluster-admission). Only in the namespaces
 * whose every object this program (or a tenant's deploy) renders; Helm charts' and operators'
 * namespaces are left alone, since refusing one of their pods would break them at the next rollout.
 * Pure, so the tests install these very objects on a real API server.
 */
import {
  DIGEST_PATTERN,
  NEEDS_TOKEN_ANNOTATION,
  POD_SECURITY,
  RESTRICTED_NAMESPACE_LABELS,
  TAG_PATTERN,
  UNPINNED_TAG,
} from "../../model/baseline";
import { APPS_NAMESPACE, CLOUDFLARED, KUBE_SYSTEM_NAMESPACE, TENANT_LABEL, TENANT_ROUTER } from "../../model/names";
import { AGENTS_NAMESPACE } from "../../model/observability/config";
import { CHARTS } from "../../model/pins";

interface Selector {
  matchExpressions: { key: string; operator: string; values?: string[] }[];
}
interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
}
/** A ValidatingAdmissionPolicy, as plain data (the fields of k8s.types.input.admissionregistration.v1 it sets). */
export interface PolicyObject {
  metadata: { name: string };
  spec: {
    failurePolicy: "Fail";
    matchConstraints: { resourceRules: ResourceRule[]; namespaceSelector: Selector };
    matchConditions?: { name: string; expression: string }[];
    variables?: { name: string; expression: string }[];
    validations: { expression: string; message: string }[];
  };
}
export interface BindingObject {
  metadata: { name: string };
  spec: { policyName: string; validationActions: "Deny"[]; matchResources: { namespaceSelector: Selector } };
}

/**
 * The baseline's facts: Pod Security's allowed values and what pins an image are model/baseline.ts's,
 * the pack's own; the exempt namespaces are mirrored (components may not import policy/,
 * .dependency-cruiser.cjs) and test/admission.test.ts fails on any difference from
 * policy/objects.ts EXEMPT_NAMESPACES.
 */
export const MIRRORED = {
  ...POD_SECURITY,
  /** policy/objects.ts EXEMPT_NAMESPACES: never judged, whatever a binding selects. */
  exemptNamespaces: [
    KUBE_SYSTEM_NAMESPACE,
    CHARTS.longhorn.namespace,
    CHARTS.certManager.namespace,
    AGENTS_NAMESPACE,
    CHARTS.cnpg.namespace,
  ],
  unpinnedTag: UNPINNED_TAG,
  /** CEL `matches` finds anywhere: a sha256 digest, or a last path segment ending in a valid tag. */
  digestPattern: DIGEST_PATTERN,
  tagPattern: `:${TAG_PATTERN}$`,
};

/** The baseline's rules (policy/objects.ts RULES) an admission policy cannot judge, and why. */
export const LEFT_TO_THE_PACK: Readonly<Record<string, string>> = {
  "pod-disruption-budget":
    "relates objects: a workload's replicas (or its autoscaler's maximum) to a PodDisruptionBudget in its namespace; an admission policy sees one object, and the objects arrive in any order",
  "default-deny":
    "relates objects: a Namespace to a NetworkPolicy inside it, which can only be created after the Namespace; an admission policy sees one object",
};

const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
/** The API server sets it on every namespace to the namespace's name, and nobody can change it. */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
/** The namespaces of the platform whose every workload the program renders. */
export const PLATFORM_NAMESPACES = [APPS_NAMESPACE, CLOUDFLARED.namespace, TENANT_ROUTER.namespace];

const list = (values: readonly string[]) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
const str = (value: string) => JSON.stringify(value);
/** True when the optional `opt` is absent or its value passes `test`. */
const absentOr = (opt: string, test: (value: string) => string) => `(!${opt}.hasValue() || ${test(`${opt}.value()`)})`;

const SPEC = "variables.spec";
const POD_SC = `${SPEC}.?securityContext`;
const CONTAINER_SC = "c.?securityContext";
/** `pred` (of `c`) holds for every container, init container and ephemeral container. */
const everyContainer = (pred: string) => `variables.containers.all(c, ${pred}) && variables.ephemeral.all(c, ${pred})`;
/** `pred` (of a security context) holds for the pod's and every container's. */
const everyContext = (pred: (sc: string) => string) => `${pred(POD_SC)} && ${everyContainer(pred(CONTAINER_SC))}`;
const image = 'c.?image.orValue("")';

export interface BaselineValidation {
  /** The id in policy/objects.ts RULES; every message starts with it. */
  rule: string;
  expression: string;
  message: string;
}

const check = (rule: string, expression: string, message: string): BaselineValidation => ({
  rule,
  expression,
  message: `${rule}: ${message}`,
});

/**
 * The pod rules, over the variables every pod policy defines: spec, annotations, containers, ephemeral,
 * longRunning. The API server reports the first that fails: host-process comes before
 * host-namespaces, since a host-process pod must also set hostNetwork.
 */
export const POD_VALIDATIONS: BaselineValidation[] = [
  check(
    "host-process",
    everyContext((sc) => `!${sc}.?windowsOptions.?hostProcess.orValue(false)`),
    "no securityContext may set windowsOptions.hostProcess=true",
  ),
  check(
    "host-namespaces",
    `!(${SPEC}.?hostNetwork.orValue(false) || ${SPEC}.?hostPID.orValue(false) || ${SPEC}.?hostIPC.orValue(false))`,
    "the pod must not set hostNetwork, hostPID or hostIPC",
  ),
  check(
    "privileged",
    everyContainer(`!${CONTAINER_SC}.?privileged.orValue(false)`),
    "no container may set securityContext.privileged=true",
  ),
  check(
    "volume-types",
    // A volume is its name and one source; dyn() reads it as a map, so a source added to Kubernetes later is refused too.
    `${SPEC}.?volumes.orValue([]).all(v, dyn(v).all(k, k == "name" || k in ${list(MIRRORED.allowedVolumeTypes)}))`,
    `volumes must be of type ${MIRRORED.allowedVolumeTypes.join(", ")}`,
  ),
  check("host-ports", everyContainer(`c.?ports.orValue([]).all(p, p.?hostPort.orValue(0) == 0)`), "no container may set a hostPort"),
  check(
    "capabilities",
    everyContainer(`${CONTAINER_SC}.?capabilities.?drop.orValue([]).exists(d, d == ${str(MIRRORED.dropAll)})`),
    `every container must set securityContext.capabilities.drop=["${MIRRORED.dropAll}"]`,
  ),
  check(
    "capabilities",
    everyContainer(`${CONTAINER_SC}.?capabilities.?add.orValue([]).all(a, a == ${str(MIRRORED.allowedCapability)})`),
    `containers may add only the capability ${MIRRORED.allowedCapability}`,
  ),
  check(
    "privilege-escalation",
    everyContainer(`${CONTAINER_SC}.?allowPrivilegeEscalation.orValue(true) == false`),
    "every container must set securityContext.allowPrivilegeEscalation=false",
  ),
  check(
    "run-as-non-root",
    // A container's own setting wins; without one, the pod's (whose false the first term refuses).
    `${POD_SC}.?runAsNonRoot.orValue(true) && ${everyContainer(`${CONTAINER_SC}.?runAsNonRoot.orValue(${POD_SC}.?runAsNonRoot.hasValue())`)}`,
    "every container must run with securityContext.runAsNonRoot=true (its own or the pod's), and none may set it false",
  ),
  check(
    "run-as-user",
    everyContext((sc) => absentOr(`${sc}.?runAsUser`, (uid) => `${uid} != 0`)),
    "no securityContext may set runAsUser=0",
  ),
  check(
    "seccomp",
    `${absentOr(`${POD_SC}.?seccompProfile.?type`, (t) => `${t} in ${list(MIRRORED.allowedSeccomp)}`)} && ${everyContainer(
      `(${CONTAINER_SC}.?seccompProfile.?type.hasValue() ? ${CONTAINER_SC}.?seccompProfile.?type.value() in ${list(MIRRORED.allowedSeccomp)} : ${POD_SC}.?seccompProfile.?type.hasValue())`,
    )}`,
    `every container must have securityContext.seccompProfile.type ${MIRRORED.allowedSeccomp.join(" or ")} (its own or the pod's)`,
  ),
  check(
    "proc-mount",
    everyContainer(absentOr(`${CONTAINER_SC}.?procMount`, (m) => `${m} == ${str(MIRRORED.defaultProcMount)}`)),
    `no container may set securityContext.procMount other than ${MIRRORED.defaultProcMount}`,
  ),
  check(
    "sysctls",
    `${POD_SC}.?sysctls.orValue([]).all(s, s.name in ${list(MIRRORED.safeSysctls)})`,
    "the pod may set only the safe sysctls",
  ),
  check(
    "selinux",
    everyContext(
      (sc) =>
        `${absentOr(`${sc}.?seLinuxOptions.?type`, (t) => `${t} in ${list(MIRRORED.allowedSeLinuxTypes)}`)} && ${sc}.?seLinuxOptions.?user.orValue("") == "" && ${sc}.?seLinuxOptions.?role.orValue("") == ""`,
    ),
    "no securityContext may set seLinuxOptions.user or .role, or a type other than the container types",
  ),
  check(
    "apparmor",
    `${everyContext((sc) => absentOr(`${sc}.?appArmorProfile.?type`, (t) => `${t} in ${list(MIRRORED.allowedAppArmor)}`))} && variables.annotations.all(k, !k.startsWith(${str(MIRRORED.appArmorAnnotationPrefix)}) || variables.annotations[k] in ${list(MIRRORED.allowedAppArmorAnnotations)} || variables.annotations[k].startsWith(${str(MIRRORED.localhostAppArmorAnnotation)}))`,
    `AppArmor profiles must be ${MIRRORED.allowedAppArmor.join(" or ")}, in securityContext.appArmorProfile and in the ${MIRRORED.appArmorAnnotationPrefix}* annotations`,
  ),
  check(
    "read-only-root-filesystem",
    everyContainer(`${CONTAINER_SC}.?readOnlyRootFilesystem.orValue(false)`),
    "every container must set securityContext.readOnlyRootFilesystem=true",
  ),
  check(
    "resources",
    // Ephemeral containers (kubectl debug) cannot have resources.
    `variables.containers.all(c, "cpu" in c.?resources.?requests.orValue({}) && "memory" in c.?resources.?requests.orValue({}) && "memory" in c.?resources.?limits.orValue({}))`,
    "every container must set resources.requests.cpu, resources.requests.memory and resources.limits.memory",
  ),
  check(
    "probes",
    `!variables.longRunning || ${SPEC}.containers.all(c, has(c.readinessProbe) && has(c.livenessProbe))`,
    "every container of a long-running pod must set readinessProbe and livenessProbe",
  ),
  check(
    "pinned-image",
    everyContainer(
      `(${image}.matches(${str(MIRRORED.digestPattern)}) || (${image}.matches(${str(MIRRORED.tagPattern)}) && !${image}.endsWith(${str(`:${MIRRORED.unpinnedTag}`)})))`,
    ),
    `every container's image must be pinned to a tag other than ${MIRRORED.unpinnedTag}, or a digest`,
  ),
  check(
    "service-account-token",
    `${SPEC}.?automountServiceAccountToken.orValue(true) == false || variables.annotations[?${str(NEEDS_TOKEN_ANNOTATION)}].orValue("") != ""`,
    `the pod must set automountServiceAccountToken=false, or say why it needs the token in the annotation ${NEEDS_TOKEN_ANNOTATION}`,
  ),
];

const RESTRICTED = RESTRICTED_NAMESPACE_LABELS[POD_SECURITY_ENFORCE_LABEL];
export const NAMESPACE_VALIDATIONS: BaselineValidation[] = [
  check(
    "pod-security-label",
    `object.metadata.?labels[?${str(POD_SECURITY_ENFORCE_LABEL)}].orValue("") == ${str(RESTRICTED)}`,
    `the namespace must carry the label ${POD_SECURITY_ENFORCE_LABEL}=${RESTRICTED}`,
  ),
];

/** Where a policy finds the pod in the objects it judges. */
interface PodShape {
  role: string;
  rules: ResourceRule[];
  spec: string;
  /** The pod's annotations (a map, empty when there are none). */
  annotations: string;
  longRunning: string;
  /** The part of the object that is the pod: an update that leaves it alone is not judged. */
  pod: (object: string) => string;
}

const CHANGES = ["CREATE", "UPDATE"];
const SHAPES: PodShape[] = [
  {
    role: "pods",
    // pods/ephemeralcontainers: what `kubectl debug` adds to a running pod.
    rules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["pods", "pods/ephemeralcontainers"], operations: CHANGES }],
    spec: "object.spec",
    annotations: "object.metadata.?annotations.orValue({})",
    longRunning: `!(object.spec.?restartPolicy.orValue("Always") in ["Never", "OnFailure"])`,
    pod: (o) => `${o}.spec`,
  },
  {
    role: "workloads",
    rules: [
      {
        apiGroups: ["apps"],
        apiVersions: ["v1"],
        resources: ["deployments", "statefulsets", "daemonsets", "replicasets"],
        operations: CHANGES,
      },
      { apiGroups: ["batch"], apiVersions: ["v1"], resources: ["jobs"], operations: CHANGES },
    ],
    spec: "object.spec.template.spec",
    annotations: "object.spec.template.?metadata.?annotations.orValue({})",
    longRunning: `object.kind != "Job"`,
    pod: (o) => `${o}.spec.template`,
  },
  {
    role: "cronjobs",
    rules: [{ apiGroups: ["batch"], apiVersions: ["v1"], resources: ["cronjobs"], operations: CHANGES }],
    spec: "object.spec.jobTemplate.spec.template.spec",
    annotations: "object.spec.jobTemplate.spec.template.?metadata.?annotations.orValue({})",
    longRunning: "false",
    pod: (o) => `${o}.spec.jobTemplate`,
  },
];

const policyName = (role: string) => `enclii-baseline-${role}`;
const notExempt = {
  matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: [...MIRRORED.exemptNamespaces] }],
};
const validations = (vs: BaselineValidation[]) => vs.map(({ expression, message }) => ({ expression, message }));

function podPolicy(shape: PodShape): PolicyObject {
  return {
    metadata: { name: policyName(shape.role) },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: { resourceRules: shape.rules, namespaceSelector: notExempt },
      // A controller's update that leaves the pod alone (scaling, finalizers, labels) passes, so an
      // object older than the policy can still be scaled down and deleted.
      matchConditions: [
        { name: "pod-changes", expression: `request.operation != "UPDATE" || ${shape.pod("object")} != ${shape.pod("oldObject")}` },
      ],
      variables: [
        { name: "spec", expression: shape.spec },
        { name: "annotations", expression: shape.annotations },
        { name: "containers", expression: `${SPEC}.?initContainers.orValue([]) + ${SPEC}.containers` },
        { name: "ephemeral", expression: `${SPEC}.?ephemeralContainers.orValue([])` },
        { name: "longRunning", expression: shape.longRunning },
      ],
      validations: validations(POD_VALIDATIONS),
    },
  };
}

function namespacePolicy(): PolicyObject {
  return {
    metadata: { name: policyName("namespaces") },
    spec: {
      failurePolicy: "Fail",
      // A binding's namespaceSelector reads a Namespace's own labels.
      matchConstraints: {
        resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["namespaces"], operations: CHANGES }],
        namespaceSelector: notExempt,
      },
      validations: validations(NAMESPACE_VALIDATIONS),
    },
  };
}

/** Where the policies apply: the platform's namespaces by name (which nobody can change), and tenant namespaces by their label. */
export const SCOPES: Record<"platform" | "tenants", Selector> = {
  platform: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "In", values: PLATFORM_NAMESPACES }] },
  tenants: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] },
};

export interface AdmissionPolicy {
  role: string;
  name: string;
  policy: PolicyObject;
  bindings: { role: string; binding: BindingObject }[];
}

/** Each policy with its two bindings (`<policy>-platform`, `<policy>-tenants`), every one denying. */
export function admissionPolicies(): AdmissionPolicy[] {
  const policies = [
    ...SHAPES.map((shape) => ({ role: shape.role, policy: podPolicy(shape) })),
    { role: "namespaces", policy: namespacePolicy() },
  ];
  return policies.map(({ role, policy }) => {
    const name = policyName(role);
    return {
      role,
      name,
      policy,
      bindings: Object.entries(SCOPES).map(([scope, namespaceSelector]) => ({
        role: `${role}-${scope}`,
        binding: {
          metadata: { name: `${name}-${scope}` },
          spec: { policyName: name, validationActions: ["Deny"], matchResources: { namespaceSelector } },
        },
      })),
    };
  });
}
