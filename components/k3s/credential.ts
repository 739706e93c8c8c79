/**
 * The credential Pulumi's Kubernetes provider uses. k3s's admin kubeconfig carries a client
 * certificate that expires after 365 days, and Pulumi reads it once: a year later every
 * Kubernetes operation would fail. Instead the first server issues a token for a ServiceAccount
 * bound to cluster-admin, from a `kubernetes.io/service-account-token` Secret: such tokens do not
 * expire (until the Secret is deleted), and the cluster CA they are checked with lasts ten years.
 * Rotation: docs/runbooks/rotations.md#the-cluster-credential.
 */
import { KUBE_SYSTEM_NAMESPACE, PORTS } from "../../model/names";

export const PULUMI_ACCOUNT = "enclii-pulumi";
export const PULUMI_TOKEN_SECRET = `${PULUMI_ACCOUNT}-token`;
/** k3s's cluster CA (server side), which signs the API server's certificate. */
export const SERVER_CA_FILE = "/var/lib/rancher/k3s/server/tls/server-ca.crt";
/** How long to wait for the token controller to fill the Secret in. */
const TOKEN_WAIT_S = 60;

const objects = `apiVersion: v1
kind: ServiceAccount
metadata: { name: ${PULUMI_ACCOUNT}, namespace: ${KUBE_SYSTEM_NAMESPACE} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: ${PULUMI_ACCOUNT} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ kind: ServiceAccount, name: ${PULUMI_ACCOUNT}, namespace: ${KUBE_SYSTEM_NAMESPACE} }]
---
apiVersion: v1
kind: Secret
metadata:
  name: ${PULUMI_TOKEN_SECRET}
  namespace: ${KUBE_SYSTEM_NAMESPACE}
  annotations: { kubernetes.io/service-account.name: ${PULUMI_ACCOUNT} }
type: kubernetes.io/service-account-token`;

/**
 * Run on the first server after its bootstrap: makes sure the account, its binding and its token
 * Secret exist (idempotent), then prints a kubeconfig with that token, pointed at 127.0.0.1 (the
 * caller substitutes the public endpoint). Prints nothing else on stdout.
 */
export function renderCredentialScript(): string {
  return `#!/usr/bin/env bash
set -euo pipefail
k3s kubectl apply -f - >/dev/null <<'YAML'
${objects}
YAML
token=""
for _ in $(seq 1 ${TOKEN_WAIT_S}); do
  # Empty (or a transient API error) until the token controller has filled the Secret in.
  token=$(k3s kubectl -n ${KUBE_SYSTEM_NAMESPACE} get secret ${PULUMI_TOKEN_SECRET} -o jsonpath='{.data.token}' 2>/dev/null | base64 -d) || token=""
  [ -n "$token" ] && break
  sleep 1
done
if [ -z "$token" ]; then
  echo "no token in ${KUBE_SYSTEM_NAMESPACE}/${PULUMI_TOKEN_SECRET} after ${TOKEN_WAIT_S}s" >&2
  exit 1
fi
ca=$(base64 -w0 < ${SERVER_CA_FILE})
cat <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: enclii
  cluster:
    server: https://127.0.0.1:${PORTS.kubernetesApi}
    certificate-authority-data: $ca
users:
- name: ${PULUMI_ACCOUNT}
  user:
    token: $token
contexts:
- name: enclii
  context: { cluster: enclii, user: ${PULUMI_ACCOUNT} }
current-context: enclii
KUBECONFIG
`;
}
