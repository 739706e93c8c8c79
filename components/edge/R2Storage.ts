import { createHash } from "node:crypto";
import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_PREFIXES, R2_SECRET_NAME } from "../../model/names";
import { generationName, generationsOf, type Rotations } from "../../model/rotation";
import { stateful } from "../stateful";

export type R2Jurisdiction = "default" | "eu" | "fedramp";

/**
 * Cloudflare's global permission-group ids ("Workers R2 Storage Bucket Item Read" / "... Write",
 * listed in the R2 authentication docs). Fixed ids rather than the permission-groups data source:
 * that lookup would need "Account API Tokens Read" and an API call on every preview.
 */
export const R2_BUCKET_ITEM_READ = "6a018a9f2fc74eb6b293b0c548f38b39";
export const R2_BUCKET_ITEM_WRITE = "2efd5506f9c8494dacb1fa10a3e7d5b6";

/** What writes into the backups bucket, each under its own prefix and with its own token. */
export type BackupWriter = keyof typeof BACKUP_PREFIXES;
const BACKUP_WRITERS = Object.keys(BACKUP_PREFIXES) as BackupWriter[];
/**
 * Prefixes whose objects are written once and never rewritten: barman-cloud's WAL segments and
 * base backups (a new key each, backup.info uploaded once: barman/cloud.py
 * CloudBackupUploader._coordinate_backup) and k3s's snapshots (named by node and time:
 * pkg/etcd/s3/s3.go Upload). These expire by age and are locked. Longhorn is neither: an old
 * block can belong to today's backup (BACKUP_PREFIXES), and its backupstore rewrites volume.cfg
 * and its lock files in place and deletes the lock files after every backup (longhorn/backupstore
 * lock.go saveLock/removeLock), which a lock would refuse, failing every volume backup
 * (docs/storage.md#backups-a-compromised-cluster-cannot-delete).
 */
export const WRITE_ONCE_PREFIXES = [BACKUP_PREFIXES.postgres, BACKUP_PREFIXES.etcd];
/**
 * Age-based expiry is a backstop behind each tool's own retention: restoring to the oldest point
 * in the window needs the base backup taken before it, so objects live a week past the window.
 */
export const EXPIRY_GRACE_DAYS = 7;
export const ABORT_MULTIPART_AFTER_DAYS = 7;
const DAY_SECONDS = 86_400;

export interface R2StorageArgs {
  stack: string;
  accountId: string;
  /** Where objects are guaranteed to be stored; "eu" and "fedramp" also change the endpoint. */
  jurisdiction: R2Jurisdiction;
  /** Best-effort placement hint ("weur", "eeur", "enam", "wnam", "apac", "oc"); only honoured at creation. */
  location?: string;
  backupRetentionDays: number;
  /** Days R2 refuses any delete or overwrite under WRITE_ONCE_PREFIXES, whoever asks; at least backupRetentionDays. */
  backupLockDays: number;
  /** Production: both buckets are `stateful`: protected, and retained if removed from the program. */
  protect: boolean;
  /** `enclii:rotations` (absent: generation 0): the tokens are named by `r2-tokens`' current generation. */
  rotations?: Rotations;
  provider: cloudflare.Provider;
}

export interface S3Credentials {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
  endpoint: string;
}

export function r2Endpoint(accountId: string, jurisdiction: R2Jurisdiction): string {
  return `https://${accountId}${jurisdiction === "default" ? "" : `.${jurisdiction}`}.r2.cloudflarestorage.com`;
}

function lifecycleRules(expireAfterDays?: number): cloudflare.types.input.R2BucketLifecycleRule[] {
  const abort = {
    id: "abort-incomplete-multipart-uploads",
    enabled: true,
    conditions: { prefix: "" },
    abortMultipartUploadsTransition: { condition: { type: "Age", maxAge: ABORT_MULTIPART_AFTER_DAYS * DAY_SECONDS } },
  };
  if (expireAfterDays === undefined) return [abort];
  return [
    abort,
    ...WRITE_ONCE_PREFIXES.map((prefix) => ({
      id: `expire-${prefix.replace(/\/$/, "")}-after-${expireAfterDays}-days`,
      enabled: true,
      conditions: { prefix },
      deleteObjectsTransition: { condition: { type: "Age", maxAge: expireAfterDays * DAY_SECONDS } },
    })),
  ];
}

/**
 * Age-based lock rules: R2 refuses deletes, overwrites, copies onto a key and lifecycle
 * deletions of an object under these prefixes until it is lockDays old (Cloudflare R2 docs,
 * Bucket locks). Changing them takes bucket-configuration rights that no writer token holds.
 */
function lockRules(lockDays: number): cloudflare.types.input.R2BucketLockRule[] {
  return WRITE_ONCE_PREFIXES.map((prefix) => ({
    id: `lock-${prefix.replace(/\/$/, "")}-for-${lockDays}-days`,
    enabled: true,
    prefix,
    condition: { type: "Age", maxAgeSeconds: lockDays * DAY_SECONDS },
  }));
}

/**
 * The platform's object storage: an assets/artifacts bucket and a backups bucket, a token scoped
 * to the assets bucket and one per backup writer scoped to the backups bucket, each turned into
 * S3 credentials (R2's rule: access key = token id, secret key = SHA-256 of the token value), and
 * lock rules on the backups that no writer token can lift.
 */
export class R2Storage extends pulumi.ComponentResource {
  public readonly assetsBucket: pulumi.Output<string>;
  public readonly backupsBucket: pulumi.Output<string>;
  public readonly endpoint: string;
  public readonly jurisdiction: R2Jurisdiction;
  /**
   * One token per writer (CloudNativePG, Longhorn, k3s etcd snapshots). R2 scopes tokens to
   * buckets, not prefixes, so each reaches the whole backups bucket: separate tokens are revoked
   * and rotated one at a time, and the lock, not the scope, keeps backups from being deleted.
   */
  public readonly backupCredentials: Record<BackupWriter, S3Credentials>;
  /** Scoped to the assets bucket: for apps with an r2 binding. */
  public readonly assetsCredentials: S3Credentials;

  constructor(name: string, args: R2StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.backupLockDays < args.backupRetentionDays)
      throw new Error(
        `${name}: backupLockDays (${args.backupLockDays}) is shorter than backupRetentionDays (${args.backupRetentionDays}): a backup still inside its retention could be deleted with a writer's token`,
      );
    super("enclii:edge:R2Storage", name, {}, opts);
    const cf = { parent: this, provider: args.provider };
    const { accountId } = args;
    const { jurisdiction } = args;
    const bucket = (role: string, expireAfterDays: number | undefined) => {
      const b = new cloudflare.R2Bucket(
        `${name}-${role}`,
        { accountId, name: `enclii-${args.stack}-${role}`, jurisdiction, location: args.location },
        { ...cf, ...stateful(args.protect) },
      );
      new cloudflare.R2BucketLifecycle(
        `${name}-${role}-lifecycle`,
        { accountId, bucketName: b.name, jurisdiction, rules: lifecycleRules(expireAfterDays) },
        cf,
      );
      return b.name;
    };
    this.assetsBucket = bucket("assets", undefined);
    this.backupsBucket = bucket("backups", args.backupRetentionDays + EXPIRY_GRACE_DAYS);
    // Not `stateful`: the provider's delete leaves the rules in place (terraform-provider-cloudflare
    // internal/services/r2_bucket_lock/resource.go, Delete is a no-op), so dropping this resource never unlocks.
    new cloudflare.R2BucketLock(
      `${name}-backups-lock`,
      { accountId, bucketName: this.backupsBucket, jurisdiction, rules: lockRules(args.backupLockDays) },
      cf,
    );

    this.endpoint = r2Endpoint(accountId, jurisdiction);
    this.jurisdiction = jurisdiction;
    // Account-owned rather than user-owned: it keeps working when the person who ran `pulumi up` leaves.
    // Object read and write only: changing lock or lifecycle rules takes "Workers R2 Storage Write" on the account.
    // A new generation is a new resource name, never a replacement: Pulumi creates the new token,
    // updates every Secret made from it, and deletes the old token only once the program has
    // registered everything, so no consumer is left on a revoked token (docs/edge.md#rotating-the-r2-tokens).
    const generation = generationsOf(args.rotations ?? {}, "r2-tokens").current;
    const scopedCredentials = (role: string, bucketName: pulumi.Output<string>): S3Credentials => {
      const token = new cloudflare.AccountToken(
        generationName(`${name}-${role}-token`, generation),
        {
          accountId,
          name: generationName(`enclii-${args.stack}-r2-${role}`, generation),
          policies: [
            {
              effect: "allow",
              permissionGroups: [{ id: R2_BUCKET_ITEM_READ }, { id: R2_BUCKET_ITEM_WRITE }],
              resources: bucketName.apply((b) =>
                JSON.stringify({ [`com.cloudflare.edge.r2.bucket.${accountId}_${jurisdiction}_${b}`]: "*" }),
              ),
            },
          ],
        },
        cf,
      );
      return {
        accessKeyId: token.id,
        secretAccessKey: pulumi.secret(token.value.apply((v) => createHash("sha256").update(v).digest("hex"))),
        endpoint: this.endpoint,
      };
    };
    // An app that leaks its credentials cannot touch the backups; a writer's token is revoked without the others'.
    this.backupCredentials = Object.fromEntries(
      BACKUP_WRITERS.map((writer) => [writer, scopedCredentials(`backups-${writer}`, this.backupsBucket)]),
    ) as Record<BackupWriter, S3Credentials>;
    this.assetsCredentials = scopedCredentials("assets", this.assetsBucket);
    this.registerOutputs({
      assetsBucket: this.assetsBucket,
      backupsBucket: this.backupsBucket,
      endpoint: this.endpoint,
      jurisdiction: this.jurisdiction,
      backupCredentials: this.backupCredentials,
      assetsCredentials: this.assetsCredentials,
    });
  }
}

/**
 * The credentials as a Secret in a consumer's namespace: CloudNativePG's ObjectStore reads
 * ACCESS_KEY_ID/ACCESS_SECRET_KEY, Longhorn's backup target the AWS_* keys and AWS_ENDPOINTS.
 */
export function s3CredentialsSecret(
  name: string,
  namespace: pulumi.Input<string>,
  creds: S3Credentials,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    name,
    {
      metadata: { name: R2_SECRET_NAME, namespace },
      type: "Opaque",
      stringData: {
        ACCESS_KEY_ID: creds.accessKeyId,
        ACCESS_SECRET_KEY: creds.secretAccessKey,
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_ENDPOINTS: creds.endpoint,
      },
    },
    opts,
  );
}
