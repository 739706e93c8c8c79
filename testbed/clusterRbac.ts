/**
 * The RBAC matrix (docs/security.md#the-rbac-matrix): for each account a stack creates or runs
 * pods as, the API server's own answer (SubjectAccessReview) to every check in
 * model/leastPrivilege.ts, per namespace and cluster-wide, compared with the expected table.
 */
import { ACCESS_CHECKS, expectedAccess, formatAnswer, type AccessCheck, type Answer, type CheckId } from "../model/leastPrivilege";
import type { StackObjects } from "./clusterObjects";
import type { Kube } from "./kube";

export interface AccountAnswers {
  account: string;
  answers: Record<CheckId, Answer>;
}

/** Namespaces every stack's matrix asks about besides its own: where k3s and the bootstrap put things. */
const ALWAYS_ASKED = ["default", "kube-system"];

/** The ServiceAccounts the stack creates, and `<ns>/default` for each workload that names no account. */
export function accountsOf(stack: StackObjects): string[] {
  const accounts = new Set<string>();
  for (const { object } of stack.objects) {
    if (object.kind === "ServiceAccount") accounts.add(`${object.metadata.namespace}/${object.metadata.name}`);
    const template = (object.spec as { template?: { spec?: { serviceAccountName?: string } } } | undefined)?.template;
    if (template?.spec && !template.spec.serviceAccountName) accounts.add(`${object.metadata.namespace}/default`);
  }
  return [...accounts].sort();
}

async function allowed(kube: Kube, account: string, check: AccessCheck, namespace: string): Promise<boolean> {
  const [ns, name] = account.split("/");
  // The identity and groups the API server gives a ServiceAccount's token.
  const review = {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: `system:serviceaccount:${ns}:${name}`,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
      resourceAttributes: { verb: check.verb, group: check.group, resource: check.resource, subresource: check.subresource, namespace },
    },
  };
  const r = await kube.api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review);
  if (r.status !== 201) throw new Error(`SubjectAccessReview for ${account} ${check.id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.status.allowed === true;
}

export async function accessOf(kube: Kube, account: string, namespaces: string[]): Promise<Record<CheckId, Answer>> {
  const asked = [...new Set([...namespaces, ...ALWAYS_ASKED])].sort();
  const out: Partial<Record<CheckId, Answer>> = {};
  for (const check of ACCESS_CHECKS) {
    // Namespace "" asks about every namespace at once (a cluster-wide grant), or about a cluster-scoped resource.
    if (await allowed(kube, account, check, "")) out[check.id] = "all";
    else if (!check.namespaced) out[check.id] = "none";
    else {
      const where: string[] = [];
      for (const ns of asked) if (await allowed(kube, account, check, ns)) where.push(ns);
      out[check.id] = where.length > 0 ? where : "none";
    }
  }
  return out as Record<CheckId, Answer>;
}

/**
 * The stack's bindings to aggregated ClusterRoles (admin, edit, view, or any with an
 * aggregationRule). The controller-manager fills such a role's rules in; without it here the role
 * is empty, and the matrix would answer "no" where a real cluster says "yes". Each is a difference.
 */
export async function aggregatedBindings(kube: Kube, stack: StackObjects): Promise<string[]> {
  const out: string[] = [];
  for (const { object } of stack.objects.filter((r) => r.object.kind === "RoleBinding" || r.object.kind === "ClusterRoleBinding")) {
    const ref = object.roleRef as { kind: string; name: string };
    if (ref.kind !== "ClusterRole") continue;
    const role = await kube.api("GET", `/apis/rbac.authorization.k8s.io/v1/clusterroles/${ref.name}`);
    if (role.body?.aggregationRule)
      out.push(
        `${stack.stack}: ${object.kind} ${object.metadata.name} binds the aggregated ClusterRole ${ref.name}, empty without a controller-manager: its answers would be too few`,
      );
  }
  return out;
}

/** Each difference from model/leastPrivilege.ts, one line each; an account with no row is one. */
export function accessDifferences(stack: string, actual: AccountAnswers[]): string[] {
  return actual.flatMap(({ account, answers }) => {
    const expected = expectedAccess(account);
    if (!expected) return [`${stack}: ${account} has no row in model/leastPrivilege.ts (its answers: ${row(answers)})`];
    return ACCESS_CHECKS.filter((c) => formatAnswer(answers[c.id]) !== formatAnswer(expected[c.id])).map(
      (c) =>
        `${stack}: ${account} ${c.id}: the server says ${formatAnswer(answers[c.id])}, model/leastPrivilege.ts says ${formatAnswer(expected[c.id])}`,
    );
  });
}

const row = (answers: Record<CheckId, Answer>) =>
  ACCESS_CHECKS.filter((c) => answers[c.id] !== "none")
    .map((c) => `${c.id}=${formatAnswer(answers[c.id])}`)
    .join(" ") || "nothing";
