/**
 * Tenant shards: where customers' custom hostnames live. Each environment's tenants are spread
 * over shard stacks of the `enclii-tenants` project (tenants/Pulumi.<environment>-NNN.yaml), each
 * holding at most TENANTS_PER_SHARD tenants, so the platform stack never grows with customers and
 * adding or removing a tenant touches one shard. Pure: the shard program, the offline plan and
 * the control plane's `domains` commands share these rules.
 */
import { z } from "zod";
import { fieldPath, issueProblems } from "./issues";
import { renderProblem, type Problem } from "../problem";
import { validateRoutes, tenantRoutes, DNS_1035_LABEL, type RouteProblem, type Tenant } from "../routes";
import { decode, dnsLabel, fqdn, port } from "./validators";

export const PLATFORM_PROJECT = "enclii-infra";
export const TENANTS_PROJECT = "enclii-tenants";
/** The shard stacks' Pulumi project directory, relative to the repository. */
export const TENANTS_DIR = "tenants";
export const TENANTS_KEY = `${TENANTS_PROJECT}:tenants`;
/** Optional: the platform stack to read, when it is not `<organization>/enclii-infra/<environment>`. */
/**
 * The environment variable a shard run reads its Kubernetes token from: minted for the run, for
 * the shards' own account (docs/tenants.md#the-shards-account). An environment variable, never
 * stack config (which the Automation API would pass on a command line) or a file.
 */
export const SHARD_TOKEN_ENV = "ENCLII_TENANTS_TOKEN";
export const PLATFORM_STACK_KEY = `${TENANTS_PROJECT}:platformStack`;
/**
 * A shard's size bound: one `pulumi up` of a shard stays a few hundred resources, and a 1000-tenant
 * environment is ten shards that plan and deploy independently.
 */
export const TENANTS_PER_SHARD = 100;
export const HOSTNAMES_PER_TENANT = 20;
/** Shards per environment: TENANTS_PER_SHARD × this is the most tenants an environment can hold. */
export const MAX_SHARDS = 1000;

const SHARD_STACK = /^(?<environment>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-(?<index>\d{3})$/;

export const tenantSchema = z.strictObject({
  name: dnsLabel.describe("the tenant; its namespace is `tenant-<name>`"),
  hostnames: z
    .array(fqdn)
    .min(1, "needs at least one hostname")
    .max(HOSTNAMES_PER_TENANT)
    .describe("the customer's own hostnames (never under the platform's zone), each a Cloudflare for SaaS custom hostname"),
  service: z
    .strictObject({
      name: z.string().regex(DNS_1035_LABEL, "must be a Service name: a DNS-1035 label (a letter first)").describe("the Service's name"),
      port: port.describe("the Service's port"),
    })
    .describe("the Service in the tenant's namespace that serves the hostnames"),
});
export const shardTenants = z
  .array(tenantSchema)
  .max(TENANTS_PER_SHARD)
  .describe("the shard's tenants, placed by the shard rule (the lowest-numbered shard with room)");
/** `enclii-tenants:platformStack`, documented beside the tenants' schema. */
export const platformStackSchema = z
  .string()
  .regex(/^[\w.-]+\/[\w.-]+\/[\w.-]+$/, "must be a stack reference: <organization>/<project>/<stack>")
  .optional()
  .describe("the platform stack to read, when it is not `<organization>/enclii-infra/<environment>`");

export interface ShardName {
  environment: string;
  index: number;
}

/** `production-003` for shard 3 of production. */
export function shardStack(environment: string, index: number): string {
  return `${environment}-${String(index).padStart(3, "0")}`;
}

export function parseShardStack(stack: string): ShardName | undefined {
  const m = SHARD_STACK.exec(stack);
  return m?.groups ? { environment: m.groups.environment, index: Number(m.groups.index) } : undefined;
}

/** `<organization>/enclii-infra/<environment>` unless the shard's config names another stack. */
export function platformStackName(raw: Record<string, string>, environment: string, organization: string): string {
  return raw[PLATFORM_STACK_KEY] ?? `${organization}/${PLATFORM_PROJECT}/${environment}`;
}

export function shardFile(stack: string): string {
  return `${TENANTS_DIR}/Pulumi.${stack}.yaml`;
}

export interface Shard {
  stack: string;
  tenants: Tenant[];
}

/**
 * Where a tenant goes: the shard that already holds it (tenants never move: moving one deletes
 * and recreates its namespace), else the lowest-numbered shard with room, else a new shard after
 * the last. Filling the lowest shard first keeps shards few and full.
 */
export function placeTenant(tenant: string, environment: string, shards: readonly Shard[]): string {
  const own = shards.filter((s) => parseShardStack(s.stack)?.environment === environment).sort((a, b) => (a.stack < b.stack ? -1 : 1));
  const holder = own.find((s) => s.tenants.some((t) => t.name === tenant));
  if (holder) return holder.stack;
  const room = own.find((s) => s.tenants.length < TENANTS_PER_SHARD);
  if (room) return room.stack;
  const next = own.length === 0 ? 0 : Math.max(...own.map((s) => parseShardStack(s.stack)!.index)) + 1;
  if (next >= MAX_SHARDS) throw new Error(`${environment}: all ${MAX_SHARDS} tenant shards are full`);
  return shardStack(environment, next);
}

/**
 * One shard's tenants from its config map (`enclii-tenants:tenants` as JSON text), every problem
 * named by key path. The stack name must be `<environment>-NNN`.
 */
export function parseShard(stack: string, raw: Record<string, string>): { shard?: Shard & ShardName; problems: Problem[] } {
  const problems: Problem[] = [];
  const name = parseShardStack(stack);
  if (!name)
    problems.push({
      where: stack,
      code: "shard-name",
      message: "a tenant shard's stack name must be <environment>-NNN, such as production-000",
    });
  for (const key of Object.keys(raw).sort())
    if (key.startsWith(`${TENANTS_PROJECT}:`) && key !== TENANTS_KEY && key !== PLATFORM_STACK_KEY)
      problems.push({ where: key, code: "unknown-key", message: `unknown config key (known: ${TENANTS_KEY}, ${PLATFORM_STACK_KEY})` });
  const platform = platformStackSchema.safeParse(raw[PLATFORM_STACK_KEY]);
  if (!platform.success) problems.push(...issueProblems(platformStackSchema, platform.error.issues, () => PLATFORM_STACK_KEY));
  const text = raw[TENANTS_KEY];
  const parsed = shardTenants.safeParse(text === undefined ? [] : decode(text), { reportInput: true });
  if (!parsed.success)
    problems.push(...issueProblems(shardTenants, parsed.error.issues, (path) => `${TENANTS_PROJECT}:${fieldPath(["tenants", ...path])}`));
  if (problems.length > 0 || !name || !parsed.success) return { problems };
  return { shard: { stack, ...name, tenants: parsed.data }, problems: checkShards([{ stack, tenants: parsed.data }]) };
}

/** A problem across shards, at the shard stack: a tenant or hostname declared twice, or a tenant route's problem. */
export type ShardProblem = Problem<"duplicate-tenant" | RouteProblem["code"]>;

/**
 * Across an environment's shards: tenant names and hostnames unique (a tenant's namespace and a
 * custom hostname exist once per cluster and zone). With `domain`, hostnames must be valid and
 * outside our own zone. Each problem is at the shard stack.
 */
export function checkShards(shards: readonly Shard[], domain?: string): ShardProblem[] {
  const problems: ShardProblem[] = [];
  const owner = new Map<string, string>();
  const hostOwner = new Map<string, string>();
  for (const s of shards) {
    for (const t of s.tenants) {
      const seen = owner.get(t.name);
      if (seen)
        problems.push({
          where: s.stack,
          code: "duplicate-tenant",
          message: `tenant "${t.name}" is ${seen === s.stack ? "declared more than once" : `also declared in ${seen}`}`,
        });
      else owner.set(t.name, s.stack);
      for (const h of t.hostnames) {
        const other = hostOwner.get(h);
        if (other)
          problems.push({
            where: s.stack,
            code: "duplicate-hostname",
            message: `hostname ${h} is ${other === s.stack ? "declared more than once" : `also declared in ${other}`}`,
          });
        else hostOwner.set(h, s.stack);
      }
    }
    if (domain)
      problems.push(
        ...validateRoutes([], domain, tenantRoutes(s.tenants))
          // Reported above, naming the shards that declare it.
          .filter((p) => p.code !== "duplicate-hostname")
          .map((p) => ({ where: s.stack, code: p.code, message: renderProblem(p) })),
      );
  }
  return problems;
}
