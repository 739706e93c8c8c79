/**
 * The workload baseline's facts (docs/security.md) that the components apply and the policy pack checks:
 * the namespace labels, the token annotation, what counts as a pinned image, what is not the internet.
 */

export const RESTRICTED_NAMESPACE_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
} as const;

/** A pod that really needs the Kubernetes API says why in this annotation (non-empty); the policy pack checks it. */
export const NEEDS_TOKEN_ANNOTATION = "enclii.dev/needs-service-account-token";

/** Private and link-local ranges: 10/8 covers the Hetzner network and k3s's 10.42/16 and 10.43/16. */
export const NOT_INTERNET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];

const DIGEST = /@sha256:[0-9a-f]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Why an image reference is not pinned (no tag, `latest`, a bad tag), or undefined when it is: a version tag or a sha256 digest. */
export function imageProblem(image: string): string | undefined {
  if (DIGEST.test(image)) return undefined;
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  if (colon < 0) return `"${image}" has no tag; pin a version (name:1.2.3) or a digest (name@sha256:…)`;
  const tag = last.slice(colon + 1);
  if (tag === "latest") return `"${image}" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)`;
  if (!TAG.test(tag)) return `"${image}" has an invalid tag "${tag}"`;
  return undefined;
}
