/**
 * The baseline policy pack's policies, apart from `new PolicyPack` (./index.ts) so tests can call
 * them without starting the policy server. Both apply the rules in ./rules.ts, the same functions
 * test/baseline.test.ts runs on every stack's plan.
 */
import type {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { checkCrossObject, checkObject, objectRef, type KubeObject, type Violation } from "./rules";

/** `kubernetes:<group>/<version>:<Kind>`; the core group is written `core` in the type and omitted in apiVersion. */
const KUBERNETES_TYPE = /^kubernetes:([^:]+):([^:]+)$/;
const CORE_GROUP_PREFIX = "core/";

/**
 * The resource as a Kubernetes object; apiVersion and kind from the type token when the props lack
 * them. Only the fields the rules read: in a preview other outputs (status) are unknown, and
 * touching an unknown value makes the policy SDK skip the check.
 */
export function kubernetesObject(type: string, props: Record<string, unknown>): KubeObject | undefined {
  const match = KUBERNETES_TYPE.exec(type);
  if (!match) return undefined;
  const [, groupVersion, kind] = match;
  const { apiVersion, kind: propsKind, metadata, spec } = props as KubeObject;
  return {
    apiVersion: apiVersion ?? (groupVersion.startsWith(CORE_GROUP_PREFIX) ? groupVersion.slice(CORE_GROUP_PREFIX.length) : groupVersion),
    kind: propsKind ?? kind,
    metadata,
    spec,
  };
}

const text = (v: Violation) => `${v.rule}: ${v.message}`;

export const objectPolicy = {
  name: "enclii-workload-baseline",
  description:
    "Every Kubernetes object meets the baseline of docs/security.md: Pod Security Standards restricted, read-only root, resources, probes, pinned images, no API token unless needed.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const obj = kubernetesObject(args.type, args.props);
    if (obj) for (const v of checkObject(obj)) reportViolation(text(v));
  },
} satisfies ResourceValidationPolicy;

export const stackPolicy = {
  name: "enclii-cluster-baseline",
  description:
    "A PodDisruptionBudget for every workload with more than one replica, and a default-deny NetworkPolicy in every namespace we own.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const urns = new Map<string, string>();
    const objects: KubeObject[] = [];
    for (const r of args.resources) {
      const obj = kubernetesObject(r.type, r.props);
      if (!obj) continue;
      objects.push(obj);
      urns.set(objectRef(obj), r.urn);
    }
    for (const v of checkCrossObject(objects)) reportViolation(text(v), urns.get(v.object));
  },
} satisfies StackValidationPolicy;

export const policies = [objectPolicy, stackPolicy];
