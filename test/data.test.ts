import { beforeAll, describe, expect, it } from "vitest";
import { find, one, recordResources, settled, validateObject, type Registered } from "./harness";
import { CHARTS, IMAGES } from "../model/pins";

let all: Registered[];
const byPrefix = (prefix: string) => all.filter((r) => r.name.startsWith(prefix));
const kinds = (prefix: string) =>
  byPrefix(prefix)
    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh"))
    .map((r) => `${r.inputs.kind}/${r.inputs.metadata.name}`)
    .sort();

beforeAll(async () => {
  all = await recordResources();
  const pulumi = await import("@pulumi/pulumi");
  const k8s = await import("@pulumi/kubernetes");
  const { DataLayer } = await import("../components/data/DataLayer");
  const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
  const backup = {
    destinationPath: "s3://enclii-test-backups/postgres",
    credentials: {
      accessKeyId: pulumi.output("0123456789abcdef0123456789abcdef"),
      secretAccessKey: pulumi.secret("r2-secret"),
      endpoint: "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com",
    },
  };
  new DataLayer("in", {
    postgres: { mode: "in-cluster", instances: 3, storageGi: 80, backupRetentionDays: 7, clusterName: "enclii-pg", backup },
    redis: { mode: "sentinel", storageGi: 5 },
    rotations: {},
    nodeCount: 3,
    nodeIps: ["10.0.1.10", "10.0.1.11", "10.0.1.12"],
    appsNamespace: "enclii-platform",
    storageClass: "longhorn",
    protect: true,
    provider,
  });
  new DataLayer("ext", {
    postgres: {
      mode: "external",
      host: "db.example.net",
      port: 5432,
      sslmode: "verify-full",
      maxConnections: 100,
      backupRetentionDays: 7,
      databaseUrls: pulumi.secret<Record<string, string>>({
        enclii: "postgres://enclii_user:p%40ss@db.example.net:5432/enclii_prod",
        janua: "postgres://janua_user:s3cret@db.example.net:5432/janua_prod",
      }),
    },
    redis: { mode: "standalone", storageGi: 5 },
    rotations: {},
    nodeCount: 1,
    nodeIps: ["203.0.113.10"],
    appsNamespace: "enclii-platform",
    storageClass: "longhorn",
    protect: false,
    provider,
  });
  // An external database named by its address: egress to exactly that address.
  new DataLayer("extip", {
    postgres: {
      mode: "external",
      host: "10.0.1.50",
      port: 6432,
      sslmode: "require",
      maxConnections: 100,
      backupRetentionDays: 7,
      databaseUrls: pulumi.secret<Record<string, string>>({
        enclii: "postgres://enclii_user:p@10.0.1.50:6432/enclii",
        janua: "postgres://janua_user:s@10.0.1.50:6432/janua",
      }),
    },
    redis: { mode: "standalone", storageGi: 5 },
    rotations: {},
    nodeCount: 1,
    nodeIps: ["10.0.1.10"],
    appsNamespace: "enclii-platform",
    storageClass: "longhorn",
    protect: false,
    provider,
  });
  await settled();
});

describe("in-cluster PostgreSQL (CloudNativePG)", () => {
  it("installs cert-manager, the operator and the barman-cloud plugin from pinned charts", () => {
    const releases = find(all, "kubernetes:helm.sh/v3:Release").filter((r) => r.name.startsWith("in-"));
    expect(releases.map((r) => `${r.inputs.chart}@${r.inputs.version}`).sort()).toEqual([
      `cert-manager@${CHARTS.certManager.version}`,
      "cloudnative-pg@0.29.0",
      "plugin-barman-cloud@0.7.0",
    ]);
    expect(find(all, "kubernetes:helm.sh/v3:Release").filter((r) => r.name.startsWith("ext-"))).toEqual([]);
  });

  it("runs one Cluster with managed roles for enclii and janua, archiving WAL through the plugin", () => {
    const { spec } = one(all, "kubernetes:postgresql.cnpg.io/v1:Cluster", "in-postgres-enclii-pg").inputs;
    expect(spec).toMatchObject({
      instances: 3,
      imageName: IMAGES.postgres,
      storage: { size: "80Gi", storageClass: "longhorn" },
      postgresql: { parameters: { max_connections: "100" } },
      plugins: [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "r2-backups" } }],
    });
    expect(spec.managed.roles.map((r: { name: string; passwordSecret: { name: string } }) => [r.name, r.passwordSecret.name])).toEqual([
      ["enclii", "pg-role-enclii"],
      ["janua", "pg-role-janua"],
    ]);
    expect(find(all, "kubernetes:postgresql.cnpg.io/v1:Database").map((d) => [d.inputs.spec.name, d.inputs.spec.owner])).toEqual([
      ["enclii", "enclii"],
      ["janua", "janua"],
    ]);
  });

  it("backs up to R2 daily with the configured retention", () => {
    const store = one(all, "kubernetes:barmancloud.cnpg.io/v1:ObjectStore", "in-postgres-r2-backups").inputs.spec;
    expect(store).toMatchObject({
      retentionPolicy: "7d",
      configuration: {
        destinationPath: "s3://enclii-test-backups/postgres",
        s3Credentials: {
          accessKeyId: { name: "r2-credentials", key: "ACCESS_KEY_ID" },
          secretAccessKey: { name: "r2-credentials", key: "ACCESS_SECRET_KEY" },
        },
      },
    });
    // Barman backs these volumes up: their PVCs opt out of Longhorn's daily volume backups.
    const { spec: clusterSpec } = one(all, "kubernetes:postgresql.cnpg.io/v1:Cluster", "in-postgres-enclii-pg").inputs;
    expect(clusterSpec.inheritedMetadata.labels).toEqual({
      "recurring-job.longhorn.io/source": "enabled",
      "recurring-job-group.longhorn.io/no-volume-backup": "enabled",
    });
    // R2 refuses boto3's default checksums; the sidecar sends them only when required.
    expect(store.instanceSidecarConfiguration.env).toEqual([
      { name: "AWS_REQUEST_CHECKSUM_CALCULATION", value: "when_required" },
      { name: "AWS_RESPONSE_CHECKSUM_VALIDATION", value: "when_required" },
    ]);
    const scheduled = one(all, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", "in-postgres-daily-backup").inputs.spec;
    expect(scheduled).toMatchObject({
      schedule: "0 0 3 * * *",
      method: "plugin",
      pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
    });
  });

  it("pools in transaction mode, two poolers on several nodes, each pool within the connection budget", () => {
    const pooler = one(all, "kubernetes:postgresql.cnpg.io/v1:Pooler", "in-postgres-pooler").inputs;
    expect(pooler.metadata.name).toBe("postgres");
    // 100 connections less 3 superuser and 10 direct, over 2 instances × 2 databases: 21 each, 84 in all.
    expect(pooler.spec).toMatchObject({
      instances: 2,
      type: "rw",
      pgbouncer: {
        poolMode: "transaction",
        parameters: {
          max_client_conn: "1000",
          listen_backlog: "1000",
          default_pool_size: "21",
          max_db_connections: "21",
          reserve_pool_size: "0",
        },
      },
    });
    const cluster = one(all, "kubernetes:postgresql.cnpg.io/v1:Cluster", "in-postgres-enclii-pg").inputs;
    expect(cluster.spec.postgresql.parameters.max_connections).toBe("100");
  });

  it("validates every custom resource against the upstream CRDs", async () => {
    const crs = byPrefix("in-").filter((r) => /cnpg\.io/.test(r.type));
    expect(crs).toHaveLength(6);
    for (const cr of crs) await expect(validateObject(cr.inputs as never), cr.name).resolves.toBeUndefined();
  });
});

describe("the app contract is the same in both modes", () => {
  it.each(["in", "ext"])("%s: a database-<db> Secret with DATABASE_URL per database, in the apps namespace", async (prefix) => {
    const secrets = find(all, "kubernetes:core/v1:Secret").filter(
      (s) => s.name.startsWith(`${prefix}-postgres-`) && s.name.endsWith("-url"),
    );
    expect(secrets.map((s) => [s.inputs.metadata.namespace, s.inputs.metadata.name])).toEqual([
      ["enclii-platform", "database-enclii"],
      ["enclii-platform", "database-janua"],
    ]);
    expect(secrets[0].inputs.stringData.DATABASE_URL).toMatch(
      /^postgres:\/\/[^:]+:[^@]+@postgres\.enclii-data\.svc\.cluster\.local:5432\//,
    );
  });

  it("external mode points apps at its own PgBouncer with the external credentials", () => {
    const [enclii] = find(all, "kubernetes:core/v1:Secret", "ext-postgres-enclii-url");
    expect(enclii.inputs.stringData.DATABASE_URL).toBe(
      "postgres://enclii_user:p%40ss@postgres.enclii-data.svc.cluster.local:5432/enclii?sslmode=disable",
    );
  });
});

describe("external PostgreSQL behind our PgBouncer", () => {
  it("renders pgbouncer.ini from the URLs' database names without their credentials", () => {
    const ini = one(all, "kubernetes:core/v1:ConfigMap", "ext-postgres-config").inputs.data["pgbouncer.ini"] as string;
    expect(ini).toMatch(/enclii\s*=.*host=db\.example\.net.*dbname=enclii_prod/);
    expect(ini).toMatch(/pool_mode\s*=\s*transaction/);
    expect(ini).toMatch(/server_tls_sslmode\s*=\s*verify-full/);
    expect(ini).not.toContain("s3cret");
  });

  it("keeps the userlist in a Secret and runs two PgBouncers with a PDB behind the postgres Service", () => {
    expect(one(all, "kubernetes:core/v1:Secret", "ext-postgres-userlist").inputs.stringData["userlist.txt"]).toContain(
      '"janua_user" "s3cret"',
    );
    expect(one(all, "kubernetes:apps/v1:Deployment", "ext-postgres-pgbouncer").inputs.spec.replicas).toBe(2);
    expect(one(all, "kubernetes:policy/v1:PodDisruptionBudget", "ext-postgres-pdb").inputs.spec.minAvailable).toBe(1);
    expect(one(all, "kubernetes:core/v1:Service", "ext-postgres-service").inputs.metadata.name).toBe("postgres");
  });
});

describe("Redis", () => {
  it("standalone: one instance with a volume and a redis Service", () => {
    expect(kinds("ext-redis")).toEqual([
      "Secret/redis",
      "Secret/redis-config",
      "Service/redis",
      "Service/redis-headless",
      "StatefulSet/redis",
    ]);
    const set = one(all, "kubernetes:apps/v1:StatefulSet", "ext-redis-redis").inputs.spec;
    expect(set.replicas).toBe(1);
    expect(set.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("5Gi");
  });

  it("sentinel: three Redis and three Sentinels with stable names and PDBs, no plain Service over replicas", () => {
    expect(kinds("in-redis")).toEqual([
      "PodDisruptionBudget/redis",
      "PodDisruptionBudget/redis-sentinel",
      "Secret/redis",
      "Secret/redis-config",
      "Service/redis-headless",
      "Service/redis-sentinel-headless",
      "StatefulSet/redis",
      "StatefulSet/redis-sentinel",
    ]);
    const conf = one(all, "kubernetes:core/v1:Secret", "in-redis-config").inputs.stringData["sentinel.conf"] as string;
    expect(conf).toMatch(/sentinel monitor enclii redis-0\.redis-headless\.enclii-data\.svc\.cluster\.local 6379 2/);
    const app = one(all, "kubernetes:core/v1:Secret", "in-redis-app-secret").inputs.stringData;
    expect(app.REDIS_MASTER_NAME).toBe("enclii");
    expect(app.REDIS_SENTINELS.split(",")).toHaveLength(3);
  });

  it("keeps the password in Secrets, out of the StatefulSets", () => {
    const sets = find(all, "kubernetes:apps/v1:StatefulSet");
    expect(sets.length).toBeGreaterThan(0);
    for (const d of sets) expect(JSON.stringify(d.inputs)).not.toMatch(/requirepass/);
  });
});

describe("the operators' namespaces", () => {
  it("enforce Pod Security restricted: cert-manager's and CloudNativePG's charts meet it", () => {
    for (const ns of ["cert-manager", "cnpg-system"])
      expect(one(all, "kubernetes:core/v1:Namespace", `in-operators-${ns}`).inputs.metadata.labels, ns).toEqual({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      });
  });
});

describe("data namespace", () => {
  it("is restricted and default-deny, open only to apps on the data ports", () => {
    expect(one(all, "kubernetes:core/v1:Namespace", "in-namespace").inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe(
      "restricted",
    );
    expect(kinds("in-").filter((k) => k.startsWith("NetworkPolicy/"))).toEqual([
      "NetworkPolicy/allow-dns",
      "NetworkPolicy/allow-egress-api",
      "NetworkPolicy/allow-egress-object-storage",
      "NetworkPolicy/allow-from-apps",
      "NetworkPolicy/allow-from-operator",
      "NetworkPolicy/allow-same-namespace",
      "NetworkPolicy/default-deny",
    ]);
    const apps = one(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "in-allow-from-apps").inputs.spec.ingress[0];
    expect(apps.ports.map((p: { port: number }) => p.port)).toEqual([5432, 6379, 26379]);
  });

  it("lets CloudNativePG's pods reach the API server at the nodes' addresses only, and R2 from instances and jobs only", () => {
    const spec = (name: string) => one(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs.spec;
    expect(spec("in-allow-egress-api")).toEqual({
      podSelector: { matchExpressions: [{ key: "cnpg.io/cluster", operator: "Exists" }] },
      policyTypes: ["Egress"],
      egress: [
        {
          to: ["10.0.1.10", "10.0.1.11", "10.0.1.12"].map((ip) => ({ ipBlock: { cidr: `${ip}/32` } })),
          ports: [{ protocol: "TCP", port: 6443 }],
        },
      ],
    });
    // The poolers need the API only; Redis needs nothing outside the namespace.
    expect(spec("in-allow-egress-object-storage")).toEqual({
      podSelector: {
        matchExpressions: [
          { key: "cnpg.io/cluster", operator: "Exists" },
          { key: "cnpg.io/poolerName", operator: "DoesNotExist" },
        ],
      },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } }],
          ports: [{ protocol: "TCP", port: 443 }],
        },
      ],
    });
    expect(find(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "in-allow-egress-database")).toEqual([]);
  });

  it("lets only the external database's PgBouncer out, to the database's port on public addresses", () => {
    expect(kinds("ext-").filter((k) => k.startsWith("NetworkPolicy/allow-egress"))).toEqual(["NetworkPolicy/allow-egress-database"]);
    const policy = one(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "ext-allow-egress-database").inputs.spec;
    const pgbouncer = one(all, "kubernetes:apps/v1:Deployment", "ext-postgres-pgbouncer").inputs.spec.template.metadata.labels;
    expect(policy.podSelector).toEqual({ matchLabels: pgbouncer });
    expect(policy.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } }],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ]);
    expect(one(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "extip-allow-egress-database").inputs.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "10.0.1.50/32" } }], ports: [{ protocol: "TCP", port: 6432 }] },
    ]);
    // Nothing anywhere in the data namespace may go everywhere.
    for (const p of find(all, "kubernetes:networking.k8s.io/v1:NetworkPolicy"))
      for (const rule of p.inputs.spec.egress ?? [])
        for (const peer of rule.to ?? []) if (peer.ipBlock?.cidr === "0.0.0.0/0") expect(peer.ipBlock.except, p.name).toBeDefined();
  });

  it("every Kubernetes object validates against the Kubernetes schema", async () => {
    const objects = all.filter(
      (r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh") && !/cnpg\.io/.test(r.type),
    );
    for (const o of objects) await expect(validateObject(o.inputs as never), o.name).resolves.toBeUndefined();
  });
});
