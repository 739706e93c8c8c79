import { describe, expect, it } from "vitest";
import { stackSuite } from "./stack-suite";

describe("external-PostgreSQL stack (managed database behind our PgBouncer)", () => {
  const plan = stackSuite("external", "examples/Pulumi.external.yaml");

  it("runs two PgBouncers behind the postgres Service instead of CloudNativePG", () => {
    const resources = plan().result.resources;
    expect(resources.filter((r) => r.type.includes("cnpg.io"))).toEqual([]);
    // No CloudNativePG operator, barman-cloud plugin or cert-manager; and this example runs without monitoring.
    expect(
      resources
        .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
        .map((r) => (r.inputs as { chart: string }).chart)
        .sort(),
    ).toEqual(["kured", "longhorn"]);
    expect(
      (plan().byName("kubernetes:apps/v1:Deployment", "enclii-data-postgres-pgbouncer").inputs.spec as { replicas: number }).replicas,
    ).toBe(2);
    expect(plan().files.get("manifests/enclii-data/service-postgres.yaml")).toContain("app: pgbouncer");
    const ini = plan().files.get("manifests/enclii-data/configmap-pgbouncer.yaml")!;
    expect(ini).toContain("server_tls_sslmode = verify-full");
    expect(ini).toContain("max_client_conn = 1000");
  });

  it("keeps the userlist and the apps' DATABASE_URLs secret", () => {
    expect(plan().files.get("manifests/enclii-data/secret-pgbouncer-userlist.yaml")).toContain('userlist.txt: "[secret]"');
    expect(plan().files.get("manifests/enclii-platform/secret-database-janua.yaml")).toContain('DATABASE_URL: "[secret]"');
  });

  it("lets only PgBouncer out of the data namespace, to the external database's port", () => {
    const policy = plan().byName("kubernetes:networking.k8s.io/v1:NetworkPolicy", "enclii-data-allow-egress-database").inputs.spec as any;
    expect(policy.podSelector).toEqual({ matchLabels: { app: "pgbouncer" } });
    expect(policy.egress[0].ports.map((p: { port: number }) => p.port)).toEqual([5432]);
  });
});
