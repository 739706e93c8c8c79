import { CNPG_PGBOUNCER_CONTAINER, CNPG_POOLER_LABEL } from "../model/names";
import {
  DROP_ALL,
  replicasOf,
  type KubeObject,
  type PodSecurityContext,
  type Pods,
  type PodTemplate,
  type Resources,
  type SeccompProfile,
  type SecurityContext,
} from "./objects";

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
export const CNPG_GROUP = "postgresql.cnpg.io/";
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

export function cnpgClusterPods(obj: KubeObject): Pods {
  const spec = (obj.spec ?? {}) as CnpgClusterSpec;
  const seccompProfile = spec.seccompProfile ?? RUNTIME_DEFAULT;
  const runAsUser = spec.postgresUID ?? CNPG_POSTGRES_UID;
  return {
    metadata: { labels: { [CNPG_CLUSTER_LABEL]: obj.metadata?.name ?? "" } },
    spec: {
      automountServiceAccountToken: false,
      // An override replaces the operator's pod context; only the user and seccomp profile are defaulted.
      securityContext: spec.podSecurityContext
        ? { runAsUser, seccompProfile, ...spec.podSecurityContext }
        : { runAsNonRoot: true, runAsUser, seccompProfile },
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

export function cnpgPoolerPods(obj: KubeObject): Pods {
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
export const BARMAN_OBJECT_STORE = { apiVersion: "barmancloud.cnpg.io/v1", kind: "ObjectStore", container: "plugin-barman-cloud" } as const;
