import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KUBE_SYSTEM_NAMESPACE, TENANT_ROUTER } from "../../model/names";
import { MONITORING_NAMESPACE } from "../../model/observability/config";
import { TENANTS_ACCOUNT } from "../k3s/credential";
import {
  ROUTER_NO_SECRETS_POLICY,
  TENANTS_CLUSTER_RULES,
  TENANTS_PROBE_RULES,
  TENANTS_ROUTE_RULES,
  TENANTS_SCOPE_POLICY,
  bindingFor,
  routerNoSecretsPolicy,
  tenantsScopePolicy,
} from "./tenantsPolicies";

export interface TenantsAccessArgs {
  /** The router's namespace, which must exist before its Role. */
  routerNamespace: pulumi.Input<string>;
  /** The shards probe their hostnames (observability on): a Role in monitoring for their Probes. */
  probes: boolean;
  provider: k8s.Provider;
}

/**
 * The tenant shards' own account (`kube-system/enclii-tenants`), in place of the platform's
 * cluster-admin: tenant namespaces and their objects, their routes in the router's namespace and
 * their probes, pinned to `tenant-*` by an admission policy. The control plane mints a short-lived
 * token for it per shard run (docs/tenants.md#the-shards-account).
 */
export class TenantsAccess extends pulumi.ComponentResource {
  public readonly account: string;

  constructor(name: string, args: TenantsAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:edge:TenantsAccess", name, {}, opts);
    const kube = { parent: this, provider: args.provider };
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      { metadata: { name: TENANTS_ACCOUNT, namespace: KUBE_SYSTEM_NAMESPACE }, automountServiceAccountToken: false },
      kube,
    );
    const subjects = [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: KUBE_SYSTEM_NAMESPACE }];
    // The policy first: the account's rights never exist without the fence around them.
    const policies = (
      [
        [TENANTS_SCOPE_POLICY, tenantsScopePolicy()],
        [ROUTER_NO_SECRETS_POLICY, routerNoSecretsPolicy()],
      ] as const
    ).map(([policyName, spec]) => {
      const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(`${name}-${policyName}`, spec, kube);
      return new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(`${name}-${policyName}-binding`, bindingFor(policyName), {
        ...kube,
        dependsOn: [policy],
      });
    });
    const fenced = { ...kube, dependsOn: policies };
    const role = new k8s.rbac.v1.ClusterRole(
      `${name}-cluster-role`,
      { metadata: { name: TENANTS_ACCOUNT }, rules: TENANTS_CLUSTER_RULES },
      fenced,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-cluster-binding`,
      {
        metadata: { name: TENANTS_ACCOUNT },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects,
      },
      fenced,
    );
    const roles: [string, pulumi.Input<string>, k8s.types.input.rbac.v1.PolicyRule[]][] = [
      ["routes", args.routerNamespace, TENANTS_ROUTE_RULES],
    ];
    if (args.probes) roles.push(["probes", MONITORING_NAMESPACE, TENANTS_PROBE_RULES]);
    for (const [role, namespace, rules] of roles) {
      const r = new k8s.rbac.v1.Role(`${name}-${role}-role`, { metadata: { name: TENANTS_ACCOUNT, namespace }, rules }, fenced);
      new k8s.rbac.v1.RoleBinding(
        `${name}-${role}-binding`,
        {
          metadata: { name: TENANTS_ACCOUNT, namespace },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: r.metadata.name },
          subjects,
        },
        fenced,
      );
    }
    this.account = `${KUBE_SYSTEM_NAMESPACE}/${TENANTS_ACCOUNT}`;
    this.registerOutputs({ account: this.account, routerNamespace: TENANT_ROUTER.namespace });
  }
}
