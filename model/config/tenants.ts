/**
 * Tenant shards: where customers' custom hostnames live. Each environment's tenants are spread
 * over shard stacks of the `enclii-tenants` project (tenants/Pulumi.<environment>-NNN.yaml), each
 * holding at most TENANTS_PER_SHARD tenants, so the platform stack never grows with customers and
 * adding or removing a tenant touches one shard. Pure: the shard program, the offline plan and
 * the control plane's `domains` commands share these rules.
 */
import { z } from "zod";
import { didYouMean, fieldPath, issueProblems } from "./issues";
import { renderProblem, type Problem } from "../problem";
import { validateRoutes, tenantRoutes, DNS_1035_LABEL, type RouteProblem, type Tenant } from "../routes";
import { decode, dnsLabel, fqdn, listRefinement, port, repeats } from "./validators";

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
 * Every key a shard's config may hold: the shard program reads these and nothing else, and its
 * providers are explicit ones built from the platform's outputs, which read no `kubernetes:` or
 * `cloudflare:` stack config (that configures only default providers).
 */
export const SHARD_KEYS = [TENANTS_KEY, PLATFORM_STACK_KEY];
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
  // A hostname one tenant lists twice is named here at both places; checkShards, which sees only
  // the shard, would say once per extra copy that the shard declares it more than once.
  .superRefine((tenants, ctx) => {
    tenants.forEach((t, i) => {
      const hostnames: unknown[] = Array.isArray(t?.hostnames) ? t.hostnames : [];
      for (const { index, first } of repeats(hostnames, (h) => (fqdn.safeParse(h).success ? String(h) : undefined)))
        ctx.addIssue({
          code: "custom",
          path: [i, "hostnames", index],
          message: `${String(hostnames[index])} repeats ${TENANTS_PROJECT}:${fieldPath(["tenants", i, "hostnames", first])}`,
        });
    });
  }, listRefinement)
  .describe("the shard's tenants, placed by the shard rule (the lowest-numbered shard with room)");
/** `enclii-tenants:platformStack`, documented beside the tenants' schema. */
export const platformStackSchema = z
  .string()
  .regex(/^[\w.-]+\/[\w.-]+\/[\w.-]+$/, "must be a stack reference: <organization>/<project>/<stack>")
  .optional()
  .describe(
    "the platform stack the shard reads, `<organization>/enclii-infra/<environment>` with the shard's own environment; set it only when the platform stack is in another organization than the shard stack",
  );

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
    if (!SHARD_KEYS.includes(key)) problems.push({ where: key, code: "unknown-key", message: unknownKeyMessage(key) });
  const platform = platformStackSchema.safeParse(raw[PLATFORM_STACK_KEY]);
  if (!platform.success) problems.push(...issueProblems(platformStackSchema, platform.error.issues, () => PLATFORM_STACK_KEY));
  else if (platform.data !== undefined) problems.push(...platformStackProblems(platform.data, name?.environment));
  const text = raw[TENANTS_KEY];
  const parsed = shardTenants.safeParse(text === undefined ? [] : decode(text), { reportInput: true });
  if (!parsed.success)
    problems.push(...issueProblems(shardTenants, parsed.error.issues, (path) => `${TENANTS_PROJECT}:${fieldPath(["tenants", ...path])}`));
  if (problems.length > 0 || !name || !parsed.success) return { problems };
  return { shard: { stack, ...name, tenants: parsed.data }, problems: checkShards([{ stack, tenants: parsed.data }]) };
}

/** A typo in the name or in the namespace (`enclii:tenants`, `enclii-tenant:tenants`) is pointed at the key meant. */
function unknownKeyMessage(key: string): string {
  const name = key.slice(key.indexOf(":") + 1);
  const near = didYouMean(
    name,
    SHARD_KEYS.map((k) => k.slice(TENANTS_PROJECT.length + 1)),
  );
  const hint = didYouMean(key, SHARD_KEYS) ?? (near && `${TENANTS_PROJECT}:${near}`);
  return `unknown config key${hint ? `; did you mean ${hint}?` : ""} (a shard reads only ${SHARD_KEYS.join(" and ")})`;
}

/**
 * A shard reads its own environment's platform stack: its tenants are checked against that
 * environment's shards and zone, and planned with that platform's outputs, so another stack would
 * deploy what was never checked. Only the organization may differ.
 */
function platformStackProblems(reference: string, environment: string | undefined): Problem[] {
  const [, project, stack] = reference.split("/");
  const problems: Problem[] = [];
  if (project !== PLATFORM_PROJECT)
    problems.push({
      where: PLATFORM_STACK_KEY,
      code: "platform-stack",
      message: `names the project "${project}"; a shard reads its platform from the ${PLATFORM_PROJECT} project`,
    });
  if (environment !== undefined && stack !== environment)
    problems.push({
      where: PLATFORM_STACK_KEY,
      code: "platform-stack",
      message: `names the stack "${stack}", but this shard is ${environment}'s: a shard reads its own environment's platform stack (<organization>/${PLATFORM_PROJECT}/${environment})`,
    });
  return problems;
}

/** Key names that say they hold a secret (`cloudflare:apiToken`, `enclii-tenants:password`). */
const SECRET_NAME = /token|password|passwd|secret|key|credential/i;

/**
 * A shard's key whose name says it is a secret, held in plain text: refused without its value, since
 * a shard file is reviewed in pull requests and needs no secret (the Cloudflare token comes from the
 * platform stack, the Kubernetes token from SHARD_TOKEN_ENV).
 */
export function plainSecretProblem(key: string): string | undefined {
  if (!SECRET_NAME.test(key.slice(key.indexOf(":") + 1))) return undefined;
  return `${key}: looks like a secret and is in plain text; a shard holds no secrets (its Cloudflare token comes from the platform stack, its Kubernetes token from ${SHARD_TOKEN_ENV}): delete it from the file and rotate it`;
}

/**
 * What is wrong with the name of a stack file `Pulumi.<stack>.yaml` in the shards' directory, given
 * the environments that have a platform stack file; undefined for a shard of one of them.
 */
export function shardFileNameProblem(fileName: string, environments: readonly string[]): string | undefined {
  const name = parseShardStack(/^Pulumi\.(.+)\.yaml$/.exec(fileName)?.[1] ?? "");
  if (!name) return `not a tenant shard's stack file: a shard's is named Pulumi.<environment>-NNN.yaml, such as Pulumi.production-000.yaml`;
  if (environments.includes(name.environment)) return undefined;
  const hint = didYouMean(name.environment, environments);
  return `no environment "${name.environment}" (no platform stack file Pulumi.${name.environment}.yaml)${hint ? `; did you mean Pulumi.${shardStack(hint, name.index)}.yaml?` : ` (environments: ${[...environments].sort().join(", ")})`}`;
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
