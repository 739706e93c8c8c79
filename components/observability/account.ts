import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ChartAccount } from "../../model/observability/accounts";

const RBAC_GROUP = "rbac.authorization.k8s.io";

/**
 * A chart's ServiceAccount and its one role, bound to it alone: a Role and RoleBinding in the
 * account's namespace, or a ClusterRole and ClusterRoleBinding. The chart's release must depend on
 * what this returns, so its pods never start without their account. Children `${name}-account`,
 * `-role` and `-binding`, of the caller.
 */
export function chartAccount(name: string, account: ChartAccount, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
  const { namespace } = account;
  const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata: { name: account.name, namespace } }, opts);
  const subjects = [{ kind: "ServiceAccount", name: account.name, namespace }];
  if (account.scope === "namespace") {
    const role = new k8s.rbac.v1.Role(`${name}-role`, { metadata: { name: account.role, namespace }, rules: account.rules }, opts);
    const binding = new k8s.rbac.v1.RoleBinding(
      `${name}-binding`,
      { metadata: { name: account.role, namespace }, roleRef: { apiGroup: RBAC_GROUP, kind: "Role", name: role.metadata.name }, subjects },
      opts,
    );
    return [serviceAccount, binding];
  }
  const role = new k8s.rbac.v1.ClusterRole(`${name}-role`, { metadata: { name: account.role }, rules: account.rules }, opts);
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-binding`,
    { metadata: { name: account.role }, roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role.metadata.name }, subjects },
    opts,
  );
  return [serviceAccount, binding];
}
