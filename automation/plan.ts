/**
 * The offline plan: runs the real stack program under Pulumi's runtime mocks and records what
 * the engine would receive for every resource (type, name, parent, inputs, dependencies,
 * protect), with secrets replaced by "[secret]". Plans run one after another in one process
 * (Pulumi's runtime state is global): the platform stack, then its tenant shards.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { PLATFORM_PROJECT } from "../model/config/tenants";
import { SECRET_MARK as SECRET } from "../model/names";
import { planMocks, type StackOutputs } from "./mocks";
import { withoutDiagnostics, withoutProtobuf } from "./sdkInternals";
import type { StackConfig } from "./stackFile";

/** What `pulumi.getOrganization()` answers on a self-managed backend, and so in plans. */
export const PLAN_ORGANIZATION = "organization";
/** Marks a value the engine would not know until the update runs. */
const UNKNOWN = "[unknown]";

// Pulumi's wire encoding (sdk/nodejs/runtime/rpc.ts).
export const SECRET_WIRE = { key: "4dabf18193072939515e22adb298388d", secret: "1b47061264138c4ac30d75fd1eb44270" } as const;
const SIG_KEY = SECRET_WIRE.key;
const SIG_SECRET = SECRET_WIRE.secret;
const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface PlanResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  provider?: string;
  inputs: Record<string, unknown>;
  dependencies: string[];
  protect: boolean;
  /** Pulumi forgets the resource, rather than deleting it, when the program drops it. */
  retainOnDelete: boolean;
  /** Taken over from an existing object with this import id (`enclii:adopt`), not created. */
  import?: string;
  /** Inputs Pulumi leaves as they are in the world (an adopted resource's write-only inputs). */
  ignoreChanges?: string[];
}

export interface PlanResult {
  stack: string;
  resources: PlanResource[];
  outputs: Record<string, unknown>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * A secret's shape stays visible (a Secret's keys such as DATABASE_URL are not secret, and the
 * manifest stays schema-valid); every value in it becomes "[secret]".
 */
function mask(value: Json): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (value !== null && typeof value === "object") {
    if (value[SIG_KEY] === SIG_SECRET) return mask(value.value);
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, mask(value[k])]),
    );
  }
  return SECRET;
}

/** Decodes Pulumi's wire values into plain JSON with secrets redacted and keys sorted. */
function redact(value: Json): unknown {
  if (value === UNKNOWN_VALUE) return UNKNOWN;
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== "object") return value;
  if (value[SIG_KEY] === SIG_SECRET) return mask(value.value);
  if (value[SIG_KEY] === SIG_RESOURCE) return value.urn;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = redact(value[key]);
  return out;
}

interface WireRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
  getImportid(): string;
  getIgnorechangesList(): string[];
  getObject(): { toJavaScript(): Json } | undefined;
}
interface WireMonitor {
  registerResource(req: WireRequest, cb: (err: unknown, resp?: { getUrn(): string }) => void): Promise<void>;
  registerResourceOutputs(req: { getUrn(): string; getOutputs(): { toJavaScript(): Json } | undefined }, cb: (err: unknown) => void): void;
}

const providerUrn = (ref: string) => (ref ? ref.slice(0, ref.lastIndexOf("::")) : undefined);

export type Program = () => Promise<Record<string, unknown>>;

/** Resolves once every registration in flight has reached the monitor (the SDK's own RPC queue, untyped). */
export function waitForRegistrations(): Promise<void> {
  return (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

export interface PlanOptions {
  /** The Pulumi project: enclii-infra (default) or enclii-tenants. */
  project?: string;
  /** What stack references read: full stack name → that stack's (redacted) outputs. */
  stackOutputs?: StackOutputs;
}

/**
 * Plans the stack program, or `program` (the benchmark's bare baseline uses the same harness).
 * The SDK's diagnostics bookkeeping is off while it runs (sdkInternals.ts): stack traces per
 * resource and per promise, which a plan never shows; and so is its protobuf encoding of
 * properties, which no wire carries under mocks.
 */
export function runPlan(
  stack: string,
  cfg: Pick<StackConfig, "config" | "secretKeys">,
  program?: Program,
  options: PlanOptions = {},
): Promise<PlanResult> {
  return withoutDiagnostics(() => withoutProtobuf(() => plan(stack, cfg, program, options)));
}

async function plan(stack: string, cfg: Pick<StackConfig, "config" | "secretKeys">, program: Program | undefined, options: PlanOptions) {
  const project = options.project ?? PLATFORM_PROJECT;
  pulumi.runtime.setAllConfig(cfg.config, cfg.secretKeys);
  await pulumi.runtime.setMocks(planMocks(options.stackOutputs), project, stack, false, PLAN_ORGANIZATION);
  const monitor = settings.getMonitor() as unknown as WireMonitor;
  const resources: PlanResource[] = [];
  let outputs: Record<string, unknown> = {};

  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    register(req, (err, resp) => {
      if (!err && resp) {
        resources.push({
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent() || undefined,
          provider: providerUrn(req.getProvider()),
          inputs: redact(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          dependencies: [...new Set(req.getDependenciesList())].sort(),
          protect: req.getProtect(),
          retainOnDelete: req.getRetainondelete() === true,
          ...(req.getImportid() && { import: req.getImportid() }),
          ...(req.getIgnorechangesList().length > 0 && { ignoreChanges: req.getIgnorechangesList() }),
        });
      }
      cb(err, resp);
    });
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    if (req.getUrn().endsWith(`::pulumi:pulumi:Stack::${project}-${stack}`)) {
      outputs = redact(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    }
    registerOutputs(req, cb);
  };

  // An error thrown inside an apply surfaces only as an unhandled rejection. Pulumi's language
  // host fails the update on it; the plan must fail too, not quietly drop the resource.
  const failures: unknown[] = [];
  const onRejection = (err: unknown) => failures.push(err);
  process.on("unhandledRejection", onRejection);
  try {
    await pulumi.runtime.runInPulumiStack(program ?? (await import("../stacks/program")).program);
    // Registrations started by apply callbacks can still be in flight when the program returns.
    await waitForRegistrations();
  } finally {
    // A failed program's error can surface once more as an unhandled rejection a tick later;
    // it belongs to this plan, not to the next one in the process.
    await new Promise((done) => setImmediate(done));
    process.off("unhandledRejection", onRejection);
  }
  if (failures.length > 0) throw failures[0];
  const real = engineUrns(project, stack, resources);
  const rename = (urn: string) => real.get(urn) ?? urn;
  const renamed = resources.map((r) => ({
    ...r,
    urn: rename(r.urn),
    parent: r.parent && rename(r.parent),
    provider: r.provider && rename(r.provider),
    dependencies: r.dependencies.map(rename).sort(),
  }));
  renamed.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  return { stack, resources: renamed, outputs };
}

/**
 * The mock monitor qualifies a URN's type with its parent's last type only; the engine uses the
 * whole chain of ancestors' types (the stack's own excepted). Plans use the engine's URNs, so
 * they match `pulumi stack --show-urns` and can be used in `pulumi state` commands.
 */
function engineUrns(project: string, stack: string, resources: PlanResource[]): Map<string, string> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const qualified = (r: PlanResource): string => {
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    return parent && parent.type !== "pulumi:pulumi:Stack" ? `${qualified(parent)}$${r.type}` : r.type;
  };
  return new Map(resources.map((r) => [r.urn, `urn:pulumi:${stack}::${project}::${qualified(r)}::${r.name}`]));
}
