/**
 * Tenant scaling: staging with 0, 100 and 1000 Cloudflare for SaaS tenants, planned like any
 * other stack, and the cost of one more tenant compared with the SDK's own per-resource cost.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { Stats } from "./stats";

const TENANT_COUNTS = [0, 100, 1000] as const;

export interface TenantStack {
  stack: string;
  config: string;
  args: string[];
  tenants: number;
}

/** Writes `Pulumi.tenants-<n>.yaml` files into `dir`: staging plus n tenants on their own domains. */
export function tenantStacks(root: string, dir: string): TenantStack[] {
  const staging = parse(readFileSync(join(root, "Pulumi.staging.yaml"), "utf8")) as { config: Record<string, unknown> };
  return TENANT_COUNTS.map((n) => {
    const tenants = Array.from({ length: n }, (_, i) => {
      const name = `t${String(i).padStart(4, "0")}`;
      return { name, hostnames: [`app.${name}.example.com`], service: { name: "web", port: 8080 } };
    });
    const config = join(dir, `Pulumi.tenants-${n}.yaml`);
    writeFileSync(config, stringify({ config: { ...staging.config, "enclii:tenants": tenants } }));
    return { stack: `tenants-${n}`, config, args: ["--config", config], tenants: n };
  });
}

export interface TenantRow {
  tenants: number;
  resources?: number;
  wallMs?: Stats;
  maxRssMiB?: Stats;
  evalMs?: Stats;
  bareMs?: Stats;
}

export interface TenantGrowth {
  resourcesPerTenant: number;
  wallMsPerTenant: number;
  rssMiBPerTenant: number;
  /** Program evaluation per added resource, next to the bare SDK's per-resource cost. */
  evalMsPerResource: number;
  bareMsPerResource: number;
}

/** Growth between the two largest counts, where fixed costs cancel out. */
export function tenantGrowth(rows: TenantRow[]): TenantGrowth | undefined {
  const [a, b] = rows.slice(-2);
  if (
    !a?.resources ||
    !b?.resources ||
    !a.wallMs ||
    !b.wallMs ||
    !a.maxRssMiB ||
    !b.maxRssMiB ||
    !a.evalMs ||
    !b.evalMs ||
    !a.bareMs ||
    !b.bareMs
  )
    return undefined;
  const tenants = b.tenants - a.tenants;
  const resources = b.resources - a.resources;
  return {
    resourcesPerTenant: resources / tenants,
    wallMsPerTenant: (b.wallMs.median - a.wallMs.median) / tenants,
    rssMiBPerTenant: (b.maxRssMiB.median - a.maxRssMiB.median) / tenants,
    evalMsPerResource: (b.evalMs.median - a.evalMs.median) / resources,
    bareMsPerResource: (b.bareMs.median - a.bareMs.median) / resources,
  };
}
