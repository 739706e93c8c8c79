/**
 * Platform health as alerting rules: nodes, storage, the database and its backups, Redis, the
 * tunnel, certificates and custom hostnames, etcd snapshots, workloads, and the dead man's switch.
 * Each rule reads a metric one of our scrape targets exports (named beside it).
 */
import { natGatewayRules, type NatGateway } from "./natGateway";
import type { Rule, RuleGroup } from "./slo";

/** Always firing: Alertmanager forwards it to the heartbeat, whose silence is the page. */
export const WATCHDOG_ALERT = "Watchdog";
/** The job the custom-hostname Probes (tenant shards) carry. */
export const CUSTOM_HOSTNAMES_JOB = "custom-hostnames";
/** Base backups are daily; 26 h leaves two hours for a slow one before anyone is woken. */
export const BACKUP_MAX_AGE_HOURS = 26;
/** k3s snapshots etcd every 12 hours; a day without one means two were missed. */
export const ETCD_SNAPSHOT_MAX_AGE_HOURS = 24;
/** The kube-state-metrics custom-resource metric for k3s's ETCDSnapshotFile objects (values below). */
export const ETCD_SNAPSHOT_METRIC = "k3s_etcdsnapshotfile_creation_timestamp_seconds";

export interface PlatformRuleArgs {
  /** In-cluster PostgreSQL (CloudNativePG with barman-cloud) rather than an external database. */
  inClusterPostgres: boolean;
  redisMode: "standalone" | "sentinel";
  tunnelReplicas: number;
  /** The HA layout's NAT gateway (natGateway.ts): its alerts exist only where there is one. */
  natGateway?: NatGateway;
}

const rule = (
  alert: string,
  expr: string,
  forDuration: string,
  severity: "critical" | "warning" | "none",
  summary: string,
  description?: string,
): Rule => ({
  alert,
  expr,
  for: forDuration,
  labels: { severity },
  annotations: { summary, ...(description ? { description } : {}) },
});

export function platformRuleGroups(a: PlatformRuleArgs): RuleGroup[] {
  const nodes: Rule[] = [
    rule(
      "NodeDiskPressure",
      'kube_node_status_condition{condition="DiskPressure",status="true"} == 1',
      "5m",
      "critical",
      "Node {{ $labels.node }} reports disk pressure: the kubelet is evicting pods",
    ),
    rule(
      "NodeMemoryPressure",
      'kube_node_status_condition{condition="MemoryPressure",status="true"} == 1',
      "5m",
      "critical",
      "Node {{ $labels.node }} reports memory pressure: the kubelet is evicting pods",
    ),
    rule(
      "NodeFilesystemAlmostFull",
      'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"} < 0.10',
      "15m",
      "warning",
      "{{ $labels.mountpoint }} on {{ $labels.instance }} has less than 10% free",
    ),
    rule(
      "NodeMemoryLow",
      "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.05",
      "10m",
      "critical",
      "{{ $labels.instance }} has less than 5% of its memory available",
    ),
    rule(
      "DeploymentReplicasMismatch",
      "kube_deployment_spec_replicas != kube_deployment_status_replicas_available",
      "15m",
      "warning",
      "{{ $labels.namespace }}/{{ $labels.deployment }} has not had its desired replicas available for 15 minutes",
    ),
    rule(
      "TargetDown",
      "100 * (count by (job, namespace) (up == 0) / count by (job, namespace) (up)) > 10",
      "10m",
      "warning",
      "{{ $value | humanize }}% of the {{ $labels.job }} targets in {{ $labels.namespace }} are down",
    ),
  ];
  const storage: Rule[] = [
    rule(
      "LonghornVolumeDegraded",
      'longhorn_volume_robustness{state="degraded"} == 1',
      "10m",
      "warning",
      "Longhorn volume {{ $labels.volume }} ({{ $labels.pvc_namespace }}/{{ $labels.pvc }}) is degraded: fewer healthy replicas than wanted",
    ),
    rule(
      "LonghornVolumeFaulted",
      'longhorn_volume_robustness{state="faulted"} == 1',
      "2m",
      "critical",
      "Longhorn volume {{ $labels.volume }} ({{ $labels.pvc_namespace }}/{{ $labels.pvc }}) is faulted: no healthy replica",
    ),
    rule(
      "EtcdSnapshotTooOld",
      `time() - max(${ETCD_SNAPSHOT_METRIC}) > ${ETCD_SNAPSHOT_MAX_AGE_HOURS * 3600} or absent(${ETCD_SNAPSHOT_METRIC})`,
      "30m",
      "critical",
      `No etcd snapshot in the last ${ETCD_SNAPSHOT_MAX_AGE_HOURS} hours`,
      "k3s records each snapshot as an ETCDSnapshotFile; kube-state-metrics exports their creation times.",
    ),
  ];
  const data: Rule[] = a.inClusterPostgres
    ? [
        rule(
          "PostgresReplicationLag",
          "cnpg_pg_replication_lag > 30",
          "5m",
          "warning",
          "{{ $labels.pod }} is {{ $value | humanizeDuration }} behind its primary",
        ),
        rule(
          "PostgresBackupTooOld",
          `time() - max by (namespace) (barman_cloud_cloudnative_pg_io_last_available_backup_timestamp) > ${BACKUP_MAX_AGE_HOURS * 3600} or absent(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp)`,
          "10m",
          "critical",
          `The newest base backup on R2 is older than ${BACKUP_MAX_AGE_HOURS} hours`,
        ),
        rule(
          "PostgresWalArchivingFailing",
          "cnpg_pg_stat_archiver_last_failed_time > cnpg_pg_stat_archiver_last_archived_time",
          "5m",
          "critical",
          "{{ $labels.pod }} fails to archive WAL to R2: point-in-time recovery is falling behind and pg_wal is filling",
        ),
        rule("PgBouncerDown", "cnpg_pgbouncer_up == 0", "2m", "critical", "PgBouncer {{ $labels.pod }} cannot reach PostgreSQL"),
      ]
    : [];
  data.push(
    a.redisMode === "sentinel"
      ? rule(
          "RedisMasterLost",
          "max(redis_sentinel_master_status) < 1 or absent(redis_sentinel_master_status)",
          "1m",
          "critical",
          "The Sentinels see no healthy Redis master",
        )
      : rule(
          "RedisMasterLost",
          '(count(redis_up == 1 and on (pod) redis_instance_info{role="master"}) or vector(0)) < 1',
          "1m",
          "critical",
          "Redis is not answering as a master",
        ),
  );
  const edge: Rule[] = [
    rule(
      "CloudflaredReplicasDisconnected",
      `(count(cloudflared_tunnel_ha_connections > 0) or vector(0)) < ${a.tunnelReplicas}`,
      "5m",
      "critical",
      `Fewer than ${a.tunnelReplicas} cloudflared replicas hold connections to Cloudflare's edge`,
    ),
    rule(
      "CertificateNotReady",
      'certmanager_certificate_ready_status{condition="False"} == 1',
      "1h",
      "warning",
      "Certificate {{ $labels.namespace }}/{{ $labels.name }} has not been ready for an hour",
    ),
    rule(
      "CustomHostnameNotServing",
      `probe_success{job="${CUSTOM_HOSTNAMES_JOB}"} == 0`,
      "1h",
      "warning",
      "Custom hostname {{ $labels.instance }} (shard {{ $labels.shard }}) has not completed a TLS handshake for an hour",
      "Its customer has not pointed it at us yet, or its certificate or ownership validation is stuck pending: `enclii-infra domains status --env <env> --tenant <tenant>` shows which DNS records are missing.",
    ),
  ];
  const meta: Rule[] = [
    rule(
      WATCHDOG_ALERT,
      "vector(1)",
      "0m",
      "none",
      "The alerting pipeline works",
      "Always firing. Alertmanager forwards it to the dead man's switch; when its pings stop, that service pages.",
    ),
  ];
  return [
    { name: "platform-nodes", rules: nodes },
    { name: "platform-storage", rules: storage },
    { name: "platform-data", rules: data },
    { name: "platform-edge", rules: edge },
    ...(a.natGateway ? [{ name: "platform-nat-gateway", rules: natGatewayRules(a.natGateway) }] : []),
    { name: "platform-meta", rules: meta },
  ];
}
