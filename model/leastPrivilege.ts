/**
 * Least privilege as data: what each Kubernetes ServiceAccount the program creates, the accounts
 * its workloads run as, and the k3s bootstrap's own account may do, for the verbs that matter to
 * an attacker holding the account's token. `npm run cluster-check` asks a real API server
 * (SubjectAccessReview) and fails on any answer that differs from this table
 * (docs/security.md#the-rbac-matrix). Charts' accounts are not here, their RBAC being rendered
 * by Helm at install time, except Grafana's and Alloy's, whose chart RBAC is off and whose
 * accounts the program renders (model/observability/accounts.ts).
 */

export interface AccessCheck {
  /** The column's name in the matrix. */
  id: string;
  verb: string;
  /** The API group, "" for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** Asked per namespace and cluster-wide; a cluster-scoped resource is asked once. */
  namespaced: boolean;
}

export const ACCESS_CHECKS = [
  { id: "secrets get", verb: "get", group: "", resource: "secrets", namespaced: true },
  { id: "secrets list", verb: "list", group: "", resource: "secrets", namespaced: true },
  { id: "secrets watch", verb: "watch", group: "", resource: "secrets", namespaced: true },
  { id: "pods create", verb: "create", group: "", resource: "pods", namespaced: true },
  { id: "pods/exec", verb: "create", group: "", resource: "pods", subresource: "exec", namespaced: true },
  { id: "roles escalate", verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespaced: true },
  { id: "roles bind", verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespaced: true },
  { id: "clusterroles escalate", verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", namespaced: false },
  { id: "clusterroles bind", verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", namespaced: false },
  { id: "impersonate users", verb: "impersonate", group: "", resource: "users", namespaced: false },
  { id: "impersonate groups", verb: "impersonate", group: "", resource: "groups", namespaced: false },
  { id: "impersonate serviceaccounts", verb: "impersonate", group: "", resource: "serviceaccounts", namespaced: true },
  { id: "nodes list", verb: "list", group: "", resource: "nodes", namespaced: false },
  { id: "namespaces list", verb: "list", group: "", resource: "namespaces", namespaced: false },
] as const satisfies readonly AccessCheck[];

export type CheckId = (typeof ACCESS_CHECKS)[number]["id"];

/**
 * "all": allowed cluster-wide (every namespace, or the cluster-scoped resource); "none"; or the
 * namespaces, sorted, where it is allowed though not cluster-wide.
 */
export type Answer = "all" | "none" | readonly string[];

export interface AccountAccess {
  /** `namespace/name` */
  account: string;
  /** Why the account has what it has (or that it has nothing). */
  why: string;
  /** Every check not named here is "none". */
  allowed: Partial<Record<CheckId, Answer>>;
}

const NOTHING = "a workload's own account: no RBAC binding, so nothing beyond discovery";
const everything = Object.fromEntries(ACCESS_CHECKS.map((c) => [c.id, "all"])) as Record<CheckId, Answer>;

export const EXPECTED_ACCESS: readonly AccountAccess[] = [
  ...["docs-site", "janua", "landing-page", "status-page", "switchyard-api", "switchyard-ui"].map((name) => ({
    account: `enclii-platform/${name}`,
    why: NOTHING,
    allowed: {},
  })),
  // Pods that name no account run as their namespace's `default`, which nothing binds.
  ...["cloudflared", "enclii-data", "monitoring"].map((ns) => ({
    account: `${ns}/default`,
    why: "the namespace's default account, used by pods that name none; nothing binds it",
    allowed: {},
  })),
  {
    account: "enclii-tenant-router/tenant-router",
    // Traefik's Ingress provider will not start without reading Secrets in the namespaces it
    // watches (for Ingress TLS, which no tenant uses): it watches its own namespace only, where
    // an admission policy refuses every Secret (components/edge/tenantsPolicies.ts).
    why: "Role tenant-router in its own namespace: Traefik's Ingress provider (services, secrets, endpointslices, ingresses); no cluster-scoped kind",
    allowed: {
      "secrets get": ["enclii-tenant-router"],
      "secrets list": ["enclii-tenant-router"],
      "secrets watch": ["enclii-tenant-router"],
    },
  },
  {
    account: "kube-system/enclii-pulumi",
    // The platform's own account stays cluster-admin: the stack installs CRDs, operators,
    // admission policies and cluster roles. What changed is its tokens: minted per run over
    // SSH (which is root on the nodes already), two hours each, none stored in a Secret.
    why: "ClusterRoleBinding enclii-pulumi → cluster-admin, for the platform stack; tokens per run, two hours (docs/security.md#how-a-run-gets-its-credential)",
    allowed: everything,
  },
  {
    account: "kube-system/enclii-tenants",
    // Writes are granted cluster-wide (RBAC cannot say tenant-*) and fenced by the admission
    // policy, which a SubjectAccessReview does not see: test/credentials.real.test.ts shows the fence.
    why: "ClusterRole enclii-tenants (namespaces, quotas, limit ranges, network policies) fenced to tenant-* by enclii-tenants-scope; routes and probes by Role",
    allowed: { "namespaces list": "all" },
  },
  {
    account: "monitoring/grafana",
    // The chart's RBAC is off: it would grant Secrets beside ConfigMaps, in every namespace
    // (model/observability/accounts.ts). ConfigMaps are not among the checks: nothing here.
    why: "Role grafana-dashboards in monitoring: configmaps get, list, watch, for the dashboards sidecar",
    allowed: {},
  },
  {
    account: "monitoring/alloy",
    why: "ClusterRole enclii-alloy: pods, pods/log and namespaces get, list, watch, to tail every pod's log through the API server",
    allowed: { "namespaces list": "all" },
  },
];

/** The table's answers for an account, every check filled in; undefined when the account has no row. */
export function expectedAccess(account: string): Record<CheckId, Answer> | undefined {
  const row = EXPECTED_ACCESS.find((a) => a.account === account);
  if (!row) return undefined;
  return Object.fromEntries(ACCESS_CHECKS.map((c) => [c.id, row.allowed[c.id] ?? "none"])) as Record<CheckId, Answer>;
}

/** One cell of the matrix as text: all, "-" for none, or the namespaces. */
export function formatAnswer(a: Answer): string {
  return a === "all" ? "all" : a === "none" ? "-" : a.join(",");
}
