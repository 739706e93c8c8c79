/**
 * Pod Security Standards "restricted" as Kubernetes v1.33's admission controller applies it
 * (k8s.io/pod-security-admission, policy/check_*.go), for Linux pods.
 */
import { POD_SECURITY } from "../model/baseline";
import { DROP_ALL, RULES, allContainers, nameOf, type CommonSecurityContext, type Pods, type Report } from "./objects";

const {
  allowedVolumeTypes: ALLOWED_VOLUME_TYPES,
  allowedCapability: ALLOWED_CAPABILITY,
  allowedSeccomp: ALLOWED_SECCOMP,
  allowedAppArmor: ALLOWED_APPARMOR,
  appArmorAnnotationPrefix: APPARMOR_ANNOTATION_PREFIX,
  allowedAppArmorAnnotations,
  localhostAppArmorAnnotation,
  defaultProcMount: DEFAULT_PROC_MOUNT,
  safeSysctls: SAFE_SYSCTLS,
  allowedSeLinuxTypes: ALLOWED_SELINUX_TYPES,
} = POD_SECURITY;

export const allowedAppArmorAnnotation = (value: string) =>
  allowedAppArmorAnnotations.includes(value) || value.startsWith(localhostAppArmorAnnotation);

/** Pod Security Standards "restricted" (which includes "baseline"), for Linux pods. */
export function podSecurity(pods: Pods, add: Report): void {
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
    if (!(sc.capabilities?.drop ?? []).includes(DROP_ALL))
      add(RULES.capabilities, `${who} must set securityContext.capabilities.drop=["ALL"]`);
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap !== ALLOWED_CAPABILITY) add(RULES.capabilities, `${who} must not add the capability ${cap} (only ${ALLOWED_CAPABILITY})`);
    }
    if (sc.allowPrivilegeEscalation !== false)
      add(RULES.privilegeEscalation, `${who} must set securityContext.allowPrivilegeEscalation=false`);
    if (sc.runAsNonRoot === false) add(RULES.runAsNonRoot, `${who} must not set securityContext.runAsNonRoot=false`);
    // As admission does: a pod that sets a bad value is reported once, not again per container.
    else if (sc.runAsNonRoot === undefined && pod.runAsNonRoot === undefined)
      add(RULES.runAsNonRoot, `${who} must set securityContext.runAsNonRoot=true (or the pod must)`);
    const seccomp = sc.seccompProfile?.type;
    if (seccomp !== undefined && !ALLOWED_SECCOMP.includes(seccomp))
      add(RULES.seccomp, `${who} must not set securityContext.seccompProfile.type=${seccomp}`);
    else if (seccomp === undefined && pod.seccompProfile?.type === undefined) {
      add(RULES.seccomp, `${who} must set securityContext.seccompProfile.type to ${ALLOWED_SECCOMP.join(" or ")} (or the pod must)`);
    }
    if (sc.procMount !== undefined && sc.procMount !== DEFAULT_PROC_MOUNT)
      add(RULES.procMount, `${who} must not set securityContext.procMount=${sc.procMount}`);
  }
}

/** Checks pod and container security contexts share. */
function commonSecurity(who: string, sc: CommonSecurityContext, add: Report): void {
  if (sc.windowsOptions?.hostProcess) add(RULES.hostProcess, `${who} must not set securityContext.windowsOptions.hostProcess=true`);
  if (sc.runAsUser === 0) add(RULES.runAsUser, `${who} must not set securityContext.runAsUser=0`);
  const se = sc.seLinuxOptions;
  if (se?.type !== undefined && !ALLOWED_SELINUX_TYPES.includes(se.type))
    add(RULES.seLinux, `${who} must not set securityContext.seLinuxOptions.type=${se.type}`);
  if (se?.user) add(RULES.seLinux, `${who} must not set securityContext.seLinuxOptions.user`);
  if (se?.role) add(RULES.seLinux, `${who} must not set securityContext.seLinuxOptions.role`);
  const appArmor = sc.appArmorProfile?.type;
  if (appArmor !== undefined && !ALLOWED_APPARMOR.includes(appArmor))
    add(RULES.appArmor, `${who} must not set securityContext.appArmorProfile.type=${appArmor}`);
}
