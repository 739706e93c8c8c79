/**
 * The restore drill (`npm run drill -- <stack>`): a bash script that proves the backups restore.
 * It restores the database from the R2 archive into a throw-away cluster beside the real one,
 * puts a PgBouncer in front of it, counts every table's rows through it and through the real
 * pooler, removes what it made (also when a step fails), and checks that the newest etcd snapshot
 * is younger than a day and a bit. Printed by default; `--run` runs it (kubectl, jq, GNU coreutils).
 */
import { stringify } from "yaml";
import { OBJECT_STORE_NAME, recoverySpec } from "../components/data/Postgres";
import { DATA_NAMESPACE, POOLED_SERVICE, PORTS } from "../model/names";
import { IMAGES } from "../model/pins";
import type { Environment } from "../model/config/schema";

/** A base backup older than this fails the drill (daily backups, with slack for a slow one). */
export const MAX_BACKUP_AGE_HOURS = 26;
/** How long the restore may take before the drill gives up (a 20 GiB database restores in minutes). */
const RESTORE_TIMEOUT = "30m";
const DRILL_RESOURCES = { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "2Gi" } };

/** The throw-away cluster and its pooler, as the operator will receive them. */
export function drillObjects(env: Environment, drillName: string): Record<string, unknown>[] {
  if (env.postgres.mode !== "in-cluster") return [];
  const pg = env.postgres;
  return [
    {
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Cluster",
      metadata: { name: drillName, namespace: DATA_NAMESPACE, labels: { "enclii.io/drill": "true" } },
      spec: {
        instances: 1,
        imageName: IMAGES.postgres,
        resources: DRILL_RESOURCES,
        storage: { size: `${pg.storageGi}Gi` },
        enableSuperuserAccess: false,
        // No WAL archiving: the drill never writes into the archive it reads.
        ...recoverySpec(pg.clusterName),
      },
    },
    {
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Pooler",
      metadata: { name: `${drillName}-pooler`, namespace: DATA_NAMESPACE, labels: { "enclii.io/drill": "true" } },
      spec: { cluster: { name: drillName }, instances: 1, type: "rw", pgbouncer: { poolMode: "transaction" } },
    },
  ];
}

/** Every table's exact row count, one `schema.table count` line each, sorted. */
const COUNT_SQL =
  "SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I', schemaname || '.' || relname, schemaname, relname) FROM pg_stat_user_tables ORDER BY 1 \\gexec";

export function renderDrillScript(env: Environment): string {
  if (env.postgres.mode !== "in-cluster")
    return `#!/usr/bin/env bash
# ${env.stack}: the database is external; its provider's restore is the drill (docs/runbooks/restore.md).
echo "${env.stack}: external PostgreSQL: nothing to drill here" >&2
`;
  const source = env.postgres.clusterName;
  const manifests = drillObjects(env, "__DRILL__")
    .map((o) => stringify(o).trimEnd())
    .join("\n---\n");
  return `#!/usr/bin/env bash
# Restore drill for ${env.stack} (docs/runbooks/restore.md): the database from the R2 archive into a
# throw-away cluster, row counts through PgBouncer against the real database's, then it is
# removed; and the newest etcd snapshot's age. Needs kubectl (KUBECONFIG for ${env.stack}), jq and
# GNU coreutils.
set -euo pipefail
export LC_ALL=C
NS=${DATA_NAMESPACE}
SOURCE=${source}
DRILL="${source}-drill-$(date -u +%Y%m%d%H%M)"
log() { printf '%s drill: %s\\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
  log "removing $DRILL"
  kubectl -n "$NS" delete pooler "$DRILL-pooler" --ignore-not-found --wait=false >/dev/null || true
  kubectl -n "$NS" delete cluster "$DRILL" --ignore-not-found --wait=true >/dev/null || true
}
trap cleanup EXIT

# 1. The archive is fresh: the source's last successful base backup is under ${MAX_BACKUP_AGE_HOURS} h old.
last=$(kubectl -n "$NS" get cluster "$SOURCE" -o jsonpath='{.status.lastSuccessfulBackup}')
if [ -z "$last" ]; then
  log "$SOURCE has no successful base backup in ${OBJECT_STORE_NAME}"
  exit 1
fi
age_h=$(( ($(date -u +%s) - $(date -u -d "$last" +%s)) / 3600 ))
log "last base backup of $SOURCE: $last ($age_h h ago)"
if [ "$age_h" -ge ${MAX_BACKUP_AGE_HOURS} ]; then
  log "the last base backup is older than ${MAX_BACKUP_AGE_HOURS} h"
  exit 1
fi

# 2. Restore into a throw-away cluster (no WAL archiving: it never writes to the archive).
log "restoring $SOURCE into $DRILL"
kubectl apply -f - <<YAML
${manifests.replace(/__DRILL__/g, "$DRILL")}
YAML
kubectl -n "$NS" wait cluster "$DRILL" --for=condition=Ready --timeout=${RESTORE_TIMEOUT}
kubectl -n "$NS" rollout status deployment "$DRILL-pooler" --timeout=5m

# 3. Row counts through PgBouncer: the restored copy's (its pooler) and the source's (${POOLED_SERVICE}),
#    as each database's own role, run from the restored instance's pod.
pod="$DRILL-1"
# The password reaches psql on standard input (first line), never on a command line.
count() { # <pooler service> <database>
  local password
  password=$(kubectl -n "$NS" get secret "pg-role-$2" -o jsonpath='{.data.password}' | base64 -d)
  {
    printf '%s\n' "$password"
    cat <<'SQL'
${COUNT_SQL}
SQL
  } | kubectl -n "$NS" exec -i "$pod" -c postgres -- sh -c \\
    "read -r PGPASSWORD && export PGPASSWORD && exec psql -X -At -h $1 -p ${PORTS.postgres} -U $2 -d $2" | sort -k1,1
}
failed=0
for db in ${["enclii", "janua"].join(" ")}; do
  restored=$(count "$DRILL-pooler" "$db")
  current=$(count ${POOLED_SERVICE} "$db")
  tables=$(printf '%s\\n' "$current" | grep -c . || true)
  log "$db: $tables tables"
  # A table may have grown since the backup; a table missing from the restore is a failure.
  missing=$(join -v1 <(printf '%s\\n' "$current" | awk '{print $1}') <(printf '%s\\n' "$restored" | awk '{print $1}') || true)
  if [ -n "$missing" ]; then
    log "$db: missing from the restore: $missing"
    failed=1
  fi
  join <(printf '%s\\n' "$current") <(printf '%s\\n' "$restored") | awk -v db="$db" '{printf "  %s %-40s now %10d  restored %10d\\n", db, $1, $2, $3}' >&2
done

# 4. etcd: the newest usable snapshot, local or in R2, is under ${MAX_BACKUP_AGE_HOURS} h old (k3s lists
#    every snapshot as an ETCDSnapshotFile object).
newest=$(kubectl get etcdsnapshotfiles.k3s.cattle.io -o json | jq -r '[.items[] | select(.status.readyToUse) | .status.creationTime] | max // empty')
if [ -z "$newest" ]; then
  log "no usable etcd snapshot"
  failed=1
else
  snap_h=$(( ($(date -u +%s) - $(date -u -d "$newest" +%s)) / 3600 ))
  log "newest etcd snapshot: $newest ($snap_h h ago)"
  if [ "$snap_h" -ge ${MAX_BACKUP_AGE_HOURS} ]; then failed=1; fi
fi

if [ "$failed" -ne 0 ]; then
  log "FAILED"
  exit 1
fi
log "passed"
`;
}
