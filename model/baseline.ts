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

/**
 * Pod Security Standards "restricted" as Kubernetes v1.33's admission controller applies it
 * (k8s.io/pod-security-admission, policy/check_*.go), for Linux pods: the values it allows. One
 * copy for the policy pack (policy/pss.ts) and the cluster's admission policies
 * (components/k3s/admissionPolicies.ts).
 */
export const POD_SECURITY: {
  readonly allowedVolumeTypes: readonly string[];
  readonly dropAll: string;
  readonly allowedCapability: string;
  readonly allowedSeccomp: readonly string[];
  readonly allowedAppArmor: readonly string[];
  readonly appArmorAnnotationPrefix: string;
  /** The AppArmor annotation values allowed as they are, and the prefix of the allowed localhost profiles. */
  readonly allowedAppArmorAnnotations: readonly string[];
  readonly localhostAppArmorAnnotation: string;
  readonly defaultProcMount: string;
  /** Safe sysctls as of v1.32 (unchanged in v1.33). */
  readonly safeSysctls: readonly string[];
  readonly allowedSeLinuxTypes: readonly string[];
} = {
  allowedVolumeTypes: ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"],
  dropAll: "ALL",
  allowedCapability: "NET_BIND_SERVICE",
  allowedSeccomp: ["RuntimeDefault", "Localhost"],
  allowedAppArmor: ["RuntimeDefault", "Localhost"],
  appArmorAnnotationPrefix: "container.apparmor.security.beta.kubernetes.io/",
  allowedAppArmorAnnotations: ["", "runtime/default"],
  localhostAppArmorAnnotation: "localhost/",
  defaultProcMount: "Default",
  safeSysctls: [
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
  ],
  allowedSeLinuxTypes: ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"],
};

/** The tag that pins nothing. */
export const UNPINNED_TAG = "latest";
/** RE2-compatible (the admission policies' CEL `matches` uses the same text): a sha256 digest; a valid tag. */
export const DIGEST_PATTERN = "@sha256:[0-9a-f]{64}$";
export const TAG_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
const DIGEST = new RegExp(DIGEST_PATTERN);
const TAG = new RegExp(`^${TAG_PATTERN}$`);

/** Why an image reference is not pinned (no tag, `latest`, a bad tag), or undefined when it is: a version tag or a sha256 digest. */
export function imageProblem(image: string): string | undefined {
  if (DIGEST.test(image)) return undefined;
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  if (colon < 0) return `"${image}" has no tag; pin a version (name:1.2.3) or a digest (name@sha256:…)`;
  const tag = last.slice(colon + 1);
  if (tag === UNPINNED_TAG) return `"${image}" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)`;
  if (!TAG.test(tag)) return `"${image}" has an invalid tag "${tag}"`;
  return undefined;
}
