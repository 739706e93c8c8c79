/**
 * The credentials Pulumi's Kubernetes providers use: ServiceAccount tokens from the TokenRequest
 * API, minted for each run over SSH and expiring RUN_TOKEN_TTL_S later. No token Secret exists:
 * a stored token (the state keeps the provider's kubeconfig, encrypted) is dead within hours, and
 * whoever can mint one holds the SSH key, which is root on the nodes already
 * (docs/security.md#how-a-run-gets-its-credential).
 */
import { stringify } from "yaml";
import { KUBE_SYSTEM_NAMESPACE, PORTS } from "../../model/names";
import type { TokenMintTarget } from "../../model/platformOutputs";

/** The platform stack's account: cluster-admin, since the stack installs CRDs, operators and cluster roles. */
export const PULUMI_ACCOUNT = "enclii-pulumi";
/** The tenant shards' account: tenant namespaces and their routes only (components/tenants/TenantsAccess.ts). */
export const TENANTS_ACCOUNT = "enclii-tenants";
/** The token Secret earlier versions kept, whose token never expired: deleting it revokes that token. */
export const LEGACY_TOKEN_SECRET = `${PULUMI_ACCOUNT}-token`;
/** k3s's cluster CA (server side), which signs the API server's certificate. */
export const SERVER_CA_FILE = "/var/lib/rancher/k3s/server/tls/server-ca.crt";
/**
 * How long a run's token lives: longer than the longest update (a first deploy waits up to 20
 * minutes on each of a few Helm releases), short enough that a token copied from a state file,
 * a log or a laptop is useless by the next working day.
 */
export const RUN_TOKEN_TTL_S = 2 * 60 * 60;

const accountObjects = `apiVersion: v1
kind: ServiceAccount
metadata: { name: ${PULUMI_ACCOUNT}, namespace: ${KUBE_SYSTEM_NAMESPACE} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: ${PULUMI_ACCOUNT} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ kind: ServiceAccount, name: ${PULUMI_ACCOUNT}, namespace: ${KUBE_SYSTEM_NAMESPACE} }]`;

/**
 * Run on the first server after its bootstrap: makes sure the platform's account and its binding
 * exist (idempotent), and deletes the everlasting token Secret earlier versions made. Prints nothing.
 */
export function renderAccountScript(): string {
  return `#!/usr/bin/env bash
set -euo pipefail
k3s kubectl apply -f - >/dev/null <<'YAML'
${accountObjects}
YAML
k3s kubectl -n ${KUBE_SYSTEM_NAMESPACE} delete secret ${LEGACY_TOKEN_SECRET} --ignore-not-found >/dev/null
`;
}

/**
 * What the server runs for a token: a TokenRequest for `account` lasting `ttlS`, then the
 * cluster CA (base64, one line). Two lines on stdout, nothing else.
 */
export function remoteTokenCommand(account: string, ttlS: number, caFile = SERVER_CA_FILE): string {
  // kubectl prints the token without a newline: the shell adds one, the token never on a command line.
  return `token=$(k3s kubectl -n ${KUBE_SYSTEM_NAMESPACE} create token ${account} --duration=${ttlS}s) && printf '%s\\n' "$token" && base64 -w0 ${caFile} && echo`;
}

/**
 * Revokes every token of `account` before it expires: tokens name the account's UID, so the
 * account deleted and made again invalidates all of them at once
 * (docs/runbooks/rotations.md#the-cluster-credentials). The platform's next update restores
 * what it manages on the account.
 */
export function remoteRevokeCommand(account: string): string {
  const sa = `-n ${KUBE_SYSTEM_NAMESPACE} serviceaccount ${account}`;
  return `k3s kubectl delete ${sa} && k3s kubectl create ${sa}`;
}

/** The environment MINT_TOKEN_SCRIPT reads: where to connect and what to run there, nothing secret. */
export interface TokenMint extends TokenMintTarget {
  /** remoteTokenCommand's text. */
  remote: string;
}

export function mintEnvironment(m: TokenMint): Record<string, string> {
  return {
    ENCLII_SSH_HOST: m.host,
    ENCLII_SSH_PORT: String(m.port),
    ENCLII_SSH_USER: m.user,
    ENCLII_SSH_HOST_KEY: m.hostKey,
    ENCLII_SSH_REMOTE: m.remote,
  };
}

/**
 * Runs where Pulumi runs (`sh`): the SSH private key arrives on standard input and lives in a
 * private temporary file for the one connection; the host key is pinned (no trust on first use).
 * Prints what the remote command prints.
 */
export const MINT_TOKEN_SCRIPT = `set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(umask 077 && cat > "$dir/key")
if [ "$ENCLII_SSH_PORT" = 22 ]; then known=$ENCLII_SSH_HOST; else known="[$ENCLII_SSH_HOST]:$ENCLII_SSH_PORT"; fi
printf '%s %s\\n' "$known" "$ENCLII_SSH_HOST_KEY" > "$dir/known_hosts"
ssh -F /dev/null -i "$dir/key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \\
  -o UserKnownHostsFile="$dir/known_hosts" -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20 \\
  -p "$ENCLII_SSH_PORT" -l "$ENCLII_SSH_USER" "$ENCLII_SSH_HOST" "$ENCLII_SSH_REMOTE" </dev/null
`;

/** Splits what the remote command printed into the token and the CA; throws without either, never echoing them. */
export function parseMinted(stdout: string): { token: string; caData: string } {
  const [token = "", caData = ""] = stdout.trim().split("\n");
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token.trim()) || !/^[A-Za-z0-9+/=]+$/.test(caData.trim()))
    throw new Error("the server did not print a token and its CA (see docs/security.md#how-a-run-gets-its-credential)");
  return { token: token.trim(), caData: caData.trim() };
}

/** A kubeconfig for one account's token. */
export function renderKubeconfig(a: { server: string; caData: string; account: string; token: string }): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "enclii", cluster: { server: a.server, "certificate-authority-data": a.caData } }],
    users: [{ name: a.account, user: { token: a.token } }],
    contexts: [{ name: "enclii", context: { cluster: "enclii", user: a.account } }],
    "current-context": "enclii",
  });
}

/** The API server as the public endpoint reaches it. */
export const apiServer = (publicIp: string) => `https://${publicIp}:${PORTS.kubernetesApi}`;
