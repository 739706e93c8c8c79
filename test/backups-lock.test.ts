/**
 * Backups a compromised cluster cannot delete (docs/storage.md#backups-a-compromised-cluster-cannot-delete):
 * lock rules on the write-once backup prefixes, at least as long as the retention, and one R2
 * token per backup writer, handed to that writer alone.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fakeTokenValue } from "../automation/mocks";
import { secretPlaceholder } from "../automation/placeholders";
import { loadStackConfig, type StackConfig } from "../automation/stackFile";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { find, one, recordResources, ROOT, settled, type Registered } from "./harness";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const DAY = 86_400;
const T = {
  lock: "cloudflare:index/r2BucketLock:R2BucketLock",
  lifecycle: "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle",
  token: "cloudflare:index/accountToken:AccountToken",
  secret: "kubernetes:core/v1:Secret",
};
const R2_ITEM_GROUPS = ["6a018a9f2fc74eb6b293b0c548f38b39", "2efd5506f9c8494dacb1fa10a3e7d5b6"];
const lockRule = (prefix: string, days: number) => ({
  id: `lock-${prefix}-for-${days}-days`,
  enabled: true,
  prefix: `${prefix}/`,
  condition: { type: "Age", maxAgeSeconds: days * DAY },
});
const secretKeyOf = (token: string) => createHash("sha256").update(fakeTokenValue(token)).digest("hex");

/** The staging stack file with placeholder secrets, and `extra` keys (objects as JSON text) on top. */
function stagingConfig(extra: Record<string, unknown> = {}): StackConfig {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.staging.yaml"));
  for (const key of cfg.secretKeys) cfg.config[key] = secretPlaceholder(key, cfg.config);
  for (const [key, value] of Object.entries(extra)) cfg.config[key] = JSON.stringify(value);
  return cfg;
}

function problemsOf(cfg: StackConfig): string[] {
  try {
    parseEnvironment("staging", cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

/** Registers the whole staging program under recording mocks, secrets unwrapped. */
async function recordStaging(cfg: StackConfig): Promise<Registered[]> {
  const pulumi = await import("@pulumi/pulumi");
  pulumi.runtime.setAllConfig(cfg.config, cfg.secretKeys);
  const all = await recordResources("staging");
  const { program } = await import("../stacks/program");
  await program();
  await settled();
  return all;
}

describe("R2Storage: lock rules", () => {
  let all: Registered[];
  let edge: typeof import("../components/edge/R2Storage");
  beforeAll(async () => {
    all = await recordResources();
    const cloudflare = await import("@pulumi/cloudflare");
    edge = await import("../components/edge/R2Storage");
    const provider = new cloudflare.Provider("cf", { apiToken: "t" });
    const base = { accountId: ACCOUNT, protect: false, provider };
    new edge.R2Storage("same", { ...base, stack: "production", jurisdiction: "default", backupRetentionDays: 7, backupLockDays: 7 });
    new edge.R2Storage("longer", { ...base, stack: "staging", jurisdiction: "eu", backupRetentionDays: 14, backupLockDays: 30 });
    await settled();
  });

  it("locks postgres/ and etcd/ of the backups bucket for the lock's days, in the bucket's jurisdiction", () => {
    expect(one(all, T.lock, "same-backups-lock").inputs).toEqual({
      accountId: ACCOUNT,
      bucketName: "enclii-production-backups",
      jurisdiction: "default",
      rules: [lockRule("postgres", 7), lockRule("etcd", 7)],
    });
    expect(one(all, T.lock, "longer-backups-lock").inputs).toMatchObject({
      bucketName: "enclii-staging-backups",
      jurisdiction: "eu",
      rules: [lockRule("postgres", 30), lockRule("etcd", 30)],
    });
  });

  it("locks nothing else: not Longhorn's prefix, whose lock files and volume.cfg are rewritten, nor the assets bucket", () => {
    expect(find(all, T.lock).map((r) => r.name)).toEqual(["same-backups-lock", "longer-backups-lock"]);
    for (const lock of find(all, T.lock)) expect(JSON.stringify(lock.inputs)).not.toContain("longhorn");
  });

  it("locks exactly the prefixes that expire by age, and expiry still comes after the retention plus the grace", () => {
    const expiring = (name: string) =>
      one(all, T.lifecycle, name)
        .inputs.rules.filter((r: { deleteObjectsTransition?: unknown }) => r.deleteObjectsTransition)
        .map((r: { conditions: { prefix: string } }) => r.conditions.prefix);
    expect(expiring("same-backups-lifecycle")).toEqual(
      one(all, T.lock, "same-backups-lock").inputs.rules.map((r: { prefix: string }) => r.prefix),
    );
    expect(edge.WRITE_ONCE_PREFIXES).toEqual(["postgres/", "etcd/"]);
  });

  it("refuses a lock shorter than the retention before registering anything", async () => {
    const cloudflare = await import("@pulumi/cloudflare");
    const provider = new cloudflare.Provider("cf-short", { apiToken: "t" });
    const args = { stack: "production", accountId: ACCOUNT, jurisdiction: "default" as const, protect: false, provider };
    expect(() => new edge.R2Storage("short", { ...args, backupRetentionDays: 7, backupLockDays: 6 })).toThrow(
      "short: backupLockDays (6) is shorter than backupRetentionDays (7): a backup still inside its retention could be deleted with a writer's token",
    );
    await settled();
    expect(all.filter((r) => r.name.startsWith("short"))).toEqual([]);
  });
});

describe("enclii:r2.backupLockDays", () => {
  it("is refused when shorter than the retention, naming both keys", () => {
    expect(problemsOf(stagingConfig({ "enclii:r2": { backupLockDays: 2 } }))).toEqual([
      "enclii:r2.backupLockDays: 2 days is shorter than enclii:postgres.backupRetentionDays (3); set it to at least that, or leave it unset",
    ]);
    // The default retention (7 days) counts when the key is not set.
    expect(problemsOf(stagingConfig({ "enclii:postgres": { mode: "in-cluster" }, "enclii:r2": { backupLockDays: 6 } }))).toEqual([
      "enclii:r2.backupLockDays: 6 days is shorter than enclii:postgres.backupRetentionDays (7); set it to at least that, or leave it unset",
    ]);
  });

  it("accepts the retention itself, anything longer up to a year, and nothing beyond", () => {
    expect(problemsOf(stagingConfig({ "enclii:r2": { backupLockDays: 3 } }))).toEqual([]);
    expect(problemsOf(stagingConfig({ "enclii:r2": { backupLockDays: 365 } }))).toEqual([]);
    expect(problemsOf(stagingConfig({ "enclii:r2": { backupLockDays: 366 } }))).toEqual(["enclii:r2.backupLockDays: must be at most 365"]);
  });
});

describe("the staging program: one token per writer, handed to that writer alone", () => {
  let unset: Registered[];
  let set: Registered[];
  beforeAll(async () => {
    unset = await recordStaging(stagingConfig());
    set = await recordStaging(stagingConfig({ "enclii:r2": { backupLockDays: 9 } }));
  });

  it("locks the backups for the retention when the lock is unset, and for the lock's days when set", () => {
    expect(one(unset, T.lock, "enclii-r2-backups-lock").inputs.rules).toEqual([lockRule("postgres", 3), lockRule("etcd", 3)]);
    expect(one(set, T.lock, "enclii-r2-backups-lock").inputs.rules).toEqual([lockRule("postgres", 9), lockRule("etcd", 9)]);
  });

  it("leaves no shared read/write token: the backups bucket's tokens are exactly the three writers'", () => {
    const backups = find(unset, T.token).filter((t) => String(t.inputs.policies[0].resources).includes("enclii-staging-backups"));
    expect(backups.map((t) => t.name).sort()).toEqual([
      "enclii-r2-backups-etcd-token",
      "enclii-r2-backups-longhorn-token",
      "enclii-r2-backups-postgres-token",
    ]);
    for (const t of backups) expect(t.inputs.policies[0].permissionGroups.map((g: { id: string }) => g.id)).toEqual(R2_ITEM_GROUPS);
  });

  it("gives CloudNativePG's ObjectStore Secret, Longhorn's backup target and k3s's etcd-s3 Secret each its own writer's key", () => {
    const data = one(unset, T.secret, "enclii-data-r2-credentials").inputs.stringData;
    const longhorn = one(unset, T.secret, "enclii-longhorn-backup-credentials").inputs.stringData;
    const etcd = one(unset, T.secret, "enclii-k3s-etcd-s3").inputs.stringData;
    expect([data.ACCESS_SECRET_KEY, data.AWS_SECRET_ACCESS_KEY]).toEqual(Array(2).fill(secretKeyOf("enclii-r2-backups-postgres-token")));
    expect(longhorn.AWS_SECRET_ACCESS_KEY).toBe(secretKeyOf("enclii-r2-backups-longhorn-token"));
    expect(etcd["etcd-s3-secret-key"]).toBe(secretKeyOf("enclii-r2-backups-etcd-token"));
    const keyIds = [data.ACCESS_KEY_ID, longhorn.AWS_ACCESS_KEY_ID, etcd["etcd-s3-access-key"]];
    for (const id of keyIds) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(keyIds).size).toBe(3);
  });
});
