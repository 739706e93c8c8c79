import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS } from "../../model/pins";
import { longhornReplicas } from "../../model/rules/environment";
import { stateful, volumeReclaimPolicy } from "../stateful";

/** The StorageClass the chart creates and marks default (`persistence.defaultClass`); the chart fixes its name. */
const STORAGE_CLASS = "longhorn";

/** S3-compatible target for volume backups (R2), with the credentials Longhorn reads. */
export interface LonghornBackupTarget {
  /** s3://bucket@region/prefix/ */
  url: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
  endpoint: pulumi.Input<string>;
}

export interface LonghornArgs {
  nodeCount: number;
  /** Daily volume backups kept on R2 (the environment's backup retention, in days). */
  backupsKept: number;
  backup: LonghornBackupTarget;
  provider: k8s.Provider;
  /**
   * Production: volumes outlive their claims (reclaim policy Retain) and the release and its
   * namespace are `protect`ed, since deleting them deletes every volume.
   */
  protect: boolean;
}

const BACKUP_SECRET = "longhorn-backup-target";
/**
 * Longhorn applies jobs of the `default` group to every volume that names no group of its own:
 * Redis, and whatever an app claims. CloudNativePG's volumes are backed up by barman-cloud
 * (WAL and base backups) and opt out by naming LONGHORN_OPT_OUT_GROUP, which has no jobs.
 */
const DEFAULT_GROUP = "default";
/** PVC labels that move a volume into a group with no recurring jobs. */
export const LONGHORN_OPT_OUT_LABELS = {
  "recurring-job.longhorn.io/source": "enabled",
  "recurring-job-group.longhorn.io/no-volume-backup": "enabled",
} as const;
/** Daily, at night (UTC), snapshot before backup so the backup takes a fresh snapshot's blocks. */
const SNAPSHOT_CRON = "0 2 * * *";
const BACKUP_CRON = "0 3 * * *";
/** Local snapshots kept per volume: a week of undo on the node, cheap until blocks diverge. */
const SNAPSHOTS_KEPT = 7;

/** The RecurringJob specs: a daily snapshot and a daily backup to R2, for every default-group volume. */
export function recurringJobs(backupsKept: number): { name: string; spec: Record<string, unknown> }[] {
  const job = (name: string, task: string, cron: string, retain: number) => ({
    name,
    spec: { name, task, cron, retain, concurrency: 1, groups: [DEFAULT_GROUP] },
  });
  return [job("daily-snapshot", "snapshot", SNAPSHOT_CRON, SNAPSHOTS_KEPT), job("daily-backup", "backup", BACKUP_CRON, backupsKept)];
}

export function longhornValues(nodeCount: number, protect: boolean, backupUrl: pulumi.Input<string>): Record<string, unknown> {
  const replicas = longhornReplicas(nodeCount);
  return {
    defaultBackupStore: { backupTarget: backupUrl, backupTargetCredentialSecret: BACKUP_SECRET },
    persistence: { defaultClass: true, defaultClassReplicaCount: replicas, reclaimPolicy: volumeReclaimPolicy(protect) },
    defaultSettings: { defaultReplicaCount: replicas },
    csi: {
      attacherReplicaCount: replicas,
      provisionerReplicaCount: replicas,
      resizerReplicaCount: replicas,
      snapshotterReplicaCount: replicas,
    },
    longhornUI: { replicas: Math.min(2, replicas) },
  };
}

/** Replicated block storage and the cluster's default StorageClass (k3s's local-path is disabled). */
export class Longhorn extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  public readonly storageClass: pulumi.Output<string>;
  public readonly replicas: number;

  constructor(name: string, args: LonghornArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:k3s:Longhorn", name, {}, opts);
    const child = { parent: this, provider: args.provider, ...stateful(args.protect) };
    this.replicas = longhornReplicas(args.nodeCount);

    // Longhorn's manager and CSI pods need host access, so this namespace is privileged by design.
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: CHARTS.longhorn.namespace,
          labels: {
            "pod-security.kubernetes.io/enforce": "privileged",
            "pod-security.kubernetes.io/audit": "privileged",
            "pod-security.kubernetes.io/warn": "privileged",
          },
        },
      },
      child,
    );
    const backupSecret = new k8s.core.v1.Secret(
      `${name}-backup-credentials`,
      {
        metadata: { name: BACKUP_SECRET, namespace: ns.metadata.name },
        stringData: {
          AWS_ACCESS_KEY_ID: pulumi.secret(args.backup.accessKeyId),
          AWS_SECRET_ACCESS_KEY: pulumi.secret(args.backup.secretAccessKey),
          AWS_ENDPOINTS: args.backup.endpoint,
        },
      },
      { parent: this, provider: args.provider },
    );
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: CHARTS.longhorn.chart,
        chart: CHARTS.longhorn.chart,
        version: CHARTS.longhorn.version,
        repositoryOpts: { repo: CHARTS.longhorn.repo },
        namespace: ns.metadata.name,
        values: longhornValues(args.nodeCount, args.protect, args.backup.url),
        atomic: true,
        timeout: 900,
      },
      { ...child, dependsOn: [backupSecret] },
    );
    for (const { name: job, spec } of recurringJobs(args.backupsKept))
      new k8s.apiextensions.CustomResource(
        `${name}-${job}`,
        { apiVersion: "longhorn.io/v1beta2", kind: "RecurringJob", metadata: { name: job, namespace: ns.metadata.name }, spec },
        // Schedules, not data: replaced freely, never protected.
        { parent: this, provider: args.provider, dependsOn: [release] },
      );
    this.namespace = pulumi.all([ns.metadata.name, release.id]).apply(([n]) => n);
    // Read through the release, so whatever binds a volume to the class waits until Longhorn is installed.
    this.storageClass = release.id.apply(() => STORAGE_CLASS);
    this.registerOutputs({ namespace: this.namespace, storageClass: this.storageClass, replicas: this.replicas });
  }
}
