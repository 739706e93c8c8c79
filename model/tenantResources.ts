/**
 * What a tenant shard names its resources (components/tenants/TenantShard.ts registers them under
 * these names) and the engine targets of a change to one tenant (`enclii-infra domains`). The
 * names are part of every shard's URNs: changing one deletes and recreates the resource, so they
 * never change. Pure: the component, the control plane and the tests share them.
 */
import { TENANTS_PROJECT } from "./config/tenants";

/** The shard program's TenantShard (stacks/tenants.ts): every name below starts with it. */
export const SHARD_RESOURCE = "tenants";
/** A tenant's own objects: its namespace with quota, limits and NetworkPolicy, and its route (ExternalName Service, Ingress). */
export const TENANT_OBJECTS = ["namespace", "quota", "limits", "policy", "route-service", "ingress"] as const;
export type TenantObject = (typeof TENANT_OBJECTS)[number];

export function tenantObjectName(shard: string, tenant: string, object: TenantObject): string {
  return `${shard}-${tenant}-${object}`;
}

/** The custom hostname's resource. A tenant name is a DNS label and a hostname has a dot, so the two never meet. */
export function hostnameResourceName(shard: string, hostname: string): string {
  return `${shard}-${hostname}`;
}

/** The shard's one blackbox Probe, whose spec lists every hostname of the shard. */
export function probeResourceName(shard: string): string {
  return `${shard}-probe`;
}

/**
 * An engine target for the resource named `name` in the shard stack `stack`, whatever its type
 * chain: in a target, `**` matches anything and `*` anything but `:` (pulumi/pkg
 * resource/deploy/deployment.go `UrnTargets.getMatcher`), and a URN ends in `::<name>`, a name
 * holding no `::`, so the glob matches that exact name and no other.
 */
export function nameTarget(stack: string, name: string): string {
  return `urn:pulumi:${stack}::${TENANTS_PROJECT}::**::${name}`;
}

/** One tenant's change: its name and every hostname it had or has (the added or removed one among them). */
export interface TenantChange {
  tenant: string;
  hostnames: readonly string[];
}

/**
 * The targets of a change to one tenant: its six objects, the custom hostnames it had or has, and
 * the shard's Probe (its spec lists the hostnames). A name with no resource behind it matches
 * nothing: the engine checks only literal URNs for existence (deployment_executor.go `checkTargets`).
 */
export function tenantTargets(stack: string, change: TenantChange, shard: string = SHARD_RESOURCE): string[] {
  const names = [
    ...TENANT_OBJECTS.map((o) => tenantObjectName(shard, change.tenant, o)),
    ...[...new Set(change.hostnames)].sort().map((h) => hostnameResourceName(shard, h)),
    probeResourceName(shard),
  ];
  return names.map((name) => nameTarget(stack, name));
}
