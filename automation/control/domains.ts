/**
 * `domains add|remove|list|status`: a tenant's custom hostnames. The tenant's shard stack file is
 * edited (a tenant stays in its shard; a new one goes where `placeTenant` says), only that shard is
 * updated, and of it only the tenant's own resources (`tenantScope`), and the answer is what the
 * customer must do: the CNAME to the fallback origin and the TXT records for ownership and the
 * certificate, with each hostname's status.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Document, parseDocument } from "yaml";
import type { CustomerRecord, DomainStatus, GuardViolation, OperationResult } from "../../model/controlPlane";
import { DNS_1035_LABEL, type Tenant } from "../../model/routes";
import type { Environment } from "../../model/config/schema";
import { placeTenant, shardFile, TENANTS_DIR, TENANTS_KEY, type Shard } from "../../model/config/tenants";
import { hostnameResourceName, SHARD_RESOURCE, tenantTargets } from "../../model/tenantResources";
import { checkShardSources } from "../../stacks/shardConfig";
import type { HostnameStatus } from "../../components/tenants/TenantShard";
import { checkAllShards, shardFiles } from "../shards";
import { urnName } from "./events";
import { UsageError } from "./errors";
import { failure, guardedUp, result, type Base, type EngineScope, type Options } from "./operations";
import type { ControlStack } from "./workspace";

const CUSTOM_HOSTNAME_TYPE = "cloudflare:index/customHostname:CustomHostname";
const MAX_PORT = 65535;

export interface DomainsRequest {
  tenant: string;
  hostname?: string;
  /** `name:port` of the tenant's Service (a new tenant needs it). */
  service?: string;
}

function loadShards(o: Options, env: Environment): Shard[] {
  return checkAllShards(shardFiles(join(o.root, TENANTS_DIR), env.stack), env).map((s) => s.shard);
}

/** `--service name:port`, each part checked as the shard's schema will (model/config/tenants.ts), naming the flag. */
function parseService(text: string): Tenant["service"] {
  const m = /^([^:]+):([^:]+)$/.exec(text);
  if (!m) throw new UsageError(`--service: "${text}" must be name:port, such as storefront:8080`);
  const [, name, port] = m;
  if (!DNS_1035_LABEL.test(name)) throw new UsageError(`--service: "${name}" must be a Service name: a DNS-1035 label (a letter first)`);
  if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > MAX_PORT)
    throw new UsageError(`--service: the port "${port}" must be a whole number from 1 to ${MAX_PORT}`);
  return { name, port: Number(port) };
}

/**
 * The shard's file with its tenants replaced, comments and other keys kept. Returns how to put the
 * file back, for an update the guard refused (an update that failed keeps the edit: running the
 * same command again converges).
 */
function writeShard(root: string, stack: string, tenants: Tenant[]): () => void {
  const file = join(root, shardFile(stack));
  const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  let doc: Document;
  if (before !== undefined) {
    doc = parseDocument(before);
    doc.setIn(["config", TENANTS_KEY], doc.createNode(tenants));
  } else {
    doc = new Document({ config: { [TENANTS_KEY]: tenants } });
    doc.commentBefore = ` Tenant shard ${stack}, written by enclii-infra domains (docs/tenants.md).`;
  }
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  return () => (before === undefined ? rmSync(file) : writeFileSync(file, before));
}

/** Every hostname's status as the shard's last completed update left it; undefined before its first. */
type Stacked = Record<string, HostnameStatus> | undefined;
type Scope = Pick<EngineScope, "target" | "targetDependents">;

async function stackedHostnames(shardStack: ControlStack): Promise<Stacked> {
  return (await shardStack.outputs()).hostnames?.value as Stacked;
}

/**
 * What a change to `tenant` updates, preview and update alike: its own resources (`tenantTargets`:
 * its objects, every hostname it had or has in the file or the stack, the shard's Probe) and their
 * dependents, whatever the shard's size (docs/tenants.md#what-a-domains-command-updates). A shard
 * with no completed update (no `hostnames` output) is updated whole: the engine refuses a targeted
 * update creating children of its new, untargeted TenantShard (step_generator.go `validateSteps`).
 */
function tenantScope(stack: string, stacked: Stacked, tenant: string, hostnames: readonly string[]): Scope {
  if (!stacked) return {};
  const had = Object.keys(stacked).filter((h) => stacked[h].tenant === tenant);
  return { target: tenantTargets(stack, { tenant, hostnames: [...had, ...hostnames] }), targetDependents: true };
}

/**
 * The shard's file rewritten with `tenants` and that shard updated within the tenant's scope,
 * guarded. The caller has opened the stack (so the CLI is found, and a new shard created) before
 * the file changes; a refusal puts the file back.
 */
async function updateShard(
  shardStack: ControlStack,
  o: Options,
  base: Base,
  tenants: Tenant[],
  opts: Scope & { message: string; expected?: (v: GuardViolation) => boolean },
): Promise<OperationResult> {
  const restore = writeShard(o.root, shardStack.name, tenants);
  const changedFiles = [shardFile(shardStack.name)];
  const up = await guardedUp(shardStack, o, base, opts).catch((err: unknown) => failure(base, err));
  if (up.status === "refused") {
    restore();
    return up;
  }
  return { ...up, changedFiles };
}

/** Every shard checked again with the edit in place: names, hostnames and the zone rule, each problem naming its file. */
function checkEdited(env: Environment, shards: Shard[], edited: Shard): void {
  const all = [...shards.filter((s) => s.stack !== edited.stack), edited];
  checkShardSources(
    all.map((s) => ({ stack: s.stack, file: shardFile(s.stack), raw: { [TENANTS_KEY]: JSON.stringify(s.tenants) } })),
    env.domain,
  );
}

export function customerRecords(hostname: string, s: HostnameStatus): CustomerRecord[] {
  return [
    { type: "CNAME", name: hostname, value: s.cnameTarget, purpose: "traffic" },
    { type: "TXT", name: s.ownershipVerification.name, value: s.ownershipVerification.value, purpose: "ownership" },
    ...s.sslValidation.map((v): CustomerRecord => ({ type: "TXT", name: v.name, value: v.value, purpose: "certificate" })),
  ];
}

function statusLines(hostnames: DomainStatus[]): string {
  return hostnames
    .map(
      (h) =>
        `${h.hostname}: ${h.status}, certificate ${h.sslStatus}\n${h.records.map((r) => `  ${r.type} ${r.name} → ${r.value} (${r.purpose})`).join("\n")}`,
    )
    .join("\n");
}

/** The shard holding `tenant`, and the tenant: a usage error naming the environment when none does. */
function holderOf(shards: readonly Shard[], env: Environment, tenant: string): { shard: Shard; existing: Tenant } {
  for (const shard of shards) {
    const existing = shard.tenants.find((t) => t.name === tenant);
    if (existing) return { shard, existing };
  }
  throw new UsageError(`--tenant: ${env.stack} has no tenant "${tenant}"`);
}

/** The shard's `hostnames` output for one tenant, as what the customer must do. */
async function tenantStatus(shardStack: ControlStack, tenant: string): Promise<DomainStatus[]> {
  return tenantHostnames(await stackedHostnames(shardStack), tenant);
}

function tenantHostnames(stacked: Stacked, tenant: string): DomainStatus[] {
  const all = stacked ?? {};
  return Object.keys(all)
    .sort()
    .filter((h) => all[h].tenant === tenant)
    .map((h) => ({ hostname: h, tenant, status: all[h].status, sslStatus: all[h].sslStatus, records: customerRecords(h, all[h]) }));
}

export function domainsList(o: Options, env: Environment, tenant?: string): OperationResult {
  const base: Base = { operation: "domains list", environment: env.stack, stack: env.stack };
  try {
    const tenants = loadShards(o, env)
      .flatMap((s) =>
        s.tenants.map((t) => ({ name: t.name, shard: s.stack, hostnames: t.hostnames, service: `${t.service.name}:${t.service.port}` })),
      )
      .filter((t) => !tenant || t.name === tenant)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const lines = tenants.map((t) => `  ${t.name} (${t.shard}, ${t.service}): ${t.hostnames.join(", ")}`).join("\n");
    return result(base, "ok", `${env.stack}: ${tenants.length} tenant(s)${lines ? `\n${lines}` : ""}`, {
      domains: { tenant, hostnames: [], tenants },
    });
  } catch (err) {
    return failure(base, err);
  }
}

export async function domainsAdd(o: Options, env: Environment, req: DomainsRequest): Promise<OperationResult> {
  const base: Base = { operation: "domains add", environment: env.stack, stack: env.stack };
  try {
    if (!req.hostname) throw new UsageError("--hostname is required");
    const shards = loadShards(o, env);
    const owner = shards.flatMap((s) => s.tenants.map((t) => ({ ...t, shard: s.stack }))).find((t) => t.hostnames.includes(req.hostname!));
    if (owner && owner.name !== req.tenant)
      throw new UsageError(`--hostname: ${req.hostname} belongs to tenant ${owner.name} (${owner.shard})`);
    const stack = placeTenant(req.tenant, env.stack, shards);
    base.stack = stack;
    const shard = shards.find((s) => s.stack === stack) ?? { stack, tenants: [] };
    const existing = shard.tenants.find((t) => t.name === req.tenant);
    const service = req.service ? parseService(req.service) : existing?.service;
    if (!service) throw new UsageError(`--service: ${req.tenant} is a new tenant; name the Service its hostnames route to (name:port)`);
    if (existing && (existing.service.name !== service.name || existing.service.port !== service.port))
      throw new UsageError(
        `--service: ${req.tenant} routes to ${existing.service.name}:${existing.service.port}; domains add does not change a tenant's Service`,
      );
    if (existing?.hostnames.includes(req.hostname))
      return await alreadyThere(o, base, { tenant: req.tenant, hostname: req.hostname, stack, hostnames: existing.hostnames });
    const tenant: Tenant = existing
      ? { ...existing, hostnames: [...existing.hostnames, req.hostname] }
      : { name: req.tenant, hostnames: [req.hostname], service };
    const edited = { stack, tenants: existing ? shard.tenants.map((t) => (t === existing ? tenant : t)) : [...shard.tenants, tenant] };
    checkEdited(env, shards, edited);
    const shardStack = await o.open({ project: "tenants", stack, create: true });
    const up = await updateShard(shardStack, o, base, edited.tenants, {
      message: `enclii domains add ${req.tenant} ${req.hostname}`,
      ...tenantScope(stack, await stackedHostnames(shardStack), req.tenant, tenant.hostnames),
    });
    if (up.exitCode !== 0) return up;
    const hostnames = await tenantStatus(shardStack, req.tenant);
    return result(base, "ok", `${req.tenant} (${stack}): the customer adds these records\n${statusLines(hostnames)}`, {
      changes: up.changes,
      changedFiles: up.changedFiles,
      domains: { tenant: req.tenant, shard: stack, hostnames },
    });
  } catch (err) {
    return failure(base, err);
  }
}

/**
 * `domains add` of a hostname the tenant's shard file already has: the file stays as it is, byte
 * for byte. When the shard's outputs have the hostname, an update made it, and the answer is
 * `unchanged` with its records, read from the stack with no engine command (`domains status`
 * reads the status again from Cloudflare). When they lack it, the update that should have made it
 * failed or never ran: the tenant's resources are updated from the file as it stands (`hostnames`,
 * the tenant's there), so that running the same command again converges.
 */
async function alreadyThere(
  o: Options,
  base: Base,
  req: { tenant: string; hostname: string; stack: string; hostnames: readonly string[] },
): Promise<OperationResult> {
  const shardStack = await o.open({ project: "tenants", stack: req.stack });
  const stacked = await stackedHostnames(shardStack);
  const before = tenantHostnames(stacked, req.tenant);
  const records = (hostnames: DomainStatus[]) => ({ domains: { tenant: req.tenant, shard: req.stack, hostnames } });
  if (before.some((h) => h.hostname === req.hostname))
    return result(
      base,
      "unchanged",
      `${req.tenant} (${req.stack}) already has ${req.hostname}; nothing changed (status as of the shard's last update); the customer adds these records\n${statusLines(before)}`,
      records(before),
    );
  const up = await guardedUp(shardStack, o, base, {
    message: `enclii domains add ${req.tenant} ${req.hostname}`,
    ...tenantScope(req.stack, stacked, req.tenant, req.hostnames),
  });
  if (up.exitCode !== 0) return up;
  const after = await tenantStatus(shardStack, req.tenant);
  return result(
    base,
    "ok",
    `${req.tenant} (${req.stack}): ${req.hostname} was in ${shardFile(req.stack)} but not in the stack; updated; the customer adds these records\n${statusLines(after)}`,
    { changes: up.changes, ...records(after) },
  );
}

/**
 * A hostname removed; with it its custom hostname, which the request itself allows. Removing a
 * tenant's last hostname removes the tenant, and its namespace stays guarded: the caller must name
 * it with --allow.
 */
export async function domainsRemove(o: Options, env: Environment, req: DomainsRequest): Promise<OperationResult> {
  const base: Base = { operation: "domains remove", environment: env.stack, stack: env.stack };
  try {
    if (!req.hostname) throw new UsageError("--hostname is required");
    const { shard, existing } = holderOf(loadShards(o, env), env, req.tenant);
    if (!existing.hostnames.includes(req.hostname)) throw new UsageError(`--hostname: ${req.tenant} has no hostname ${req.hostname}`);
    base.stack = shard.stack;
    const hostnames = existing.hostnames.filter((h) => h !== req.hostname);
    const tenants =
      hostnames.length > 0
        ? shard.tenants.map((t) => (t === existing ? { ...t, hostnames } : t))
        : shard.tenants.filter((t) => t !== existing);
    const shardStack = await o.open({ project: "tenants", stack: shard.stack });
    const up = await updateShard(shardStack, o, base, tenants, {
      message: `enclii domains remove ${req.tenant} ${req.hostname}`,
      expected: (v) =>
        v.type === CUSTOM_HOSTNAME_TYPE && v.op === "delete" && urnName(v.urn) === hostnameResourceName(SHARD_RESOURCE, req.hostname!),
      ...tenantScope(shard.stack, await stackedHostnames(shardStack), req.tenant, existing.hostnames),
    });
    return up.status === "refused" ? up : { ...up, domains: { tenant: req.tenant, shard: shard.stack, hostnames: [] } };
  } catch (err) {
    return failure(base, err);
  }
}

/**
 * Re-reads the tenant's hostnames' status from Cloudflare: an update with refresh, guarded like any
 * other and scoped like the others to the tenant's resources, which are all the engine refreshes
 * (step_generator.go `generateResourceSteps` refreshes only what `isIncludedInOperation`).
 */
export async function domainsStatus(o: Options, env: Environment, req: DomainsRequest): Promise<OperationResult> {
  const base: Base = { operation: "domains status", environment: env.stack, stack: env.stack };
  try {
    const { shard, existing } = holderOf(loadShards(o, env), env, req.tenant);
    base.stack = shard.stack;
    const shardStack = await o.open({ project: "tenants", stack: shard.stack });
    const up = await guardedUp(shardStack, o, base, {
      message: `enclii domains status ${req.tenant}`,
      refresh: true,
      ...tenantScope(shard.stack, await stackedHostnames(shardStack), req.tenant, existing.hostnames),
    });
    if (up.exitCode !== 0) return up;
    const hostnames = await tenantStatus(shardStack, req.tenant);
    return result(base, "ok", `${req.tenant} (${shard.stack})\n${statusLines(hostnames)}`, {
      domains: { tenant: req.tenant, shard: shard.stack, hostnames },
    });
  } catch (err) {
    return failure(base, err);
  }
}
