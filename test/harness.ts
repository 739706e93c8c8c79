/** Shared test plumbing: recording mocks, output resolution, schema validation, Debian tools. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import Ajv, { type CodeOptions } from "ajv";
import { parse } from "yaml";
import { planMocks } from "../automation/mocks";
import { SECRET_WIRE, waitForRegistrations } from "../automation/plan";
import { toolPath } from "../testbed/toolchain";

export const ROOT = join(__dirname, "..");

/** Every file under `dir`: relative path → text. */
export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}
/** Upstream schemas vendored into the repository (schemas/README.md). */
export const SCHEMAS = join(ROOT, "schemas");

/** A scratch copy of what the command line reads (the project, staging's stack file, the specs), plus `extra` files. */
export function copyRepo(root: string, extra: string[] = []): void {
  mkdirSync(join(root, "tenants"), { recursive: true });
  for (const f of ["Pulumi.yaml", "Pulumi.staging.yaml", "dogfooding", join("tenants", "Pulumi.yaml"), ...extra])
    cpSync(join(ROOT, f), join(root, f), { recursive: true });
}

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

function unwrapSecrets(v: any): any {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v === null || typeof v !== "object") return v;
  // Tests assert on the value inside a secret.
  if (v[SECRET_WIRE.key] === SECRET_WIRE.secret) return unwrapSecrets(v.value);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
}

/** `setMocks` with the plan's fake outputs, recording every registration (secrets unwrapped). */
export async function recordResources(stack = "test"): Promise<Registered[]> {
  const registered: Registered[] = [];
  const base = planMocks();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: unwrapSecrets(args.inputs) });
        return base.newResource(args);
      },
      call: base.call,
    },
    "enclii-infra",
    stack,
    false,
  );
  return registered;
}

/** Waits until every registration in flight has reached the mocks. */
export const settled = waitForRegistrations;

export function resolve<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((done) => pulumi.output(o).apply((v) => done(v as T)));
}

export function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
  return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

export function find(all: Registered[], type: string, name?: string): Registered[] {
  return all.filter((r) => r.type === type && (name === undefined || r.name === name));
}

export function one(all: Registered[], type: string, name: string): Registered {
  const found = find(all, type, name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0];
}

/** A Debian binary a test needs: skipped with a reason locally, a failure in CI. */
export function requireTool(tool: string, debianPackage = tool): boolean {
  const present = spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
  if (!present && process.env.CI) throw new Error(`${tool} is missing; .ci/run must install it`);
  if (!present) console.warn(`skipping: ${tool} is not installed (apt-get install ${debianPackage})`);
  return present;
}

/**
 * The path of a Go-built tool (testbed/toolchain.ts), or undefined: skipped locally with the
 * command that builds it, a failure in CI, where .ci/run builds them all first.
 */
export function requireBuilt(bin: string): string | undefined {
  const path = toolPath(bin);
  if (!path && process.env.CI) throw new Error(`${bin} is not built; .ci/run must run npm run toolchain first`);
  if (!path) console.warn(`skipping: ${bin} is not built (npm run toolchain)`);
  return path;
}

/** Pods (testbed/pods.ts) need root and iproute2 for network namespaces: skipped locally without them, a failure in CI. */
export function requirePods(): boolean {
  const root = process.getuid?.() === 0;
  if (!root && process.env.CI) throw new Error("the real-server tests need root for network namespaces");
  if (!root) console.warn("skipping: pods need root (network namespaces)");
  return root && requireTool("ip", "iproute2") && requireTool("unshare", "util-linux");
}

export function shellcheck(script: string, shell: "bash" | "sh" = "bash"): string {
  const result = spawnSync("shellcheck", [`--shell=${shell}`, "-"], { input: script, encoding: "utf8" });
  return result.status === 0 ? "" : result.stdout + result.stderr;
}

/** Validates a core Kubernetes object against the OpenAPI schema shipped in kubernetes-models. */
async function validateKubernetesObject(obj: { apiVersion: string; kind: string }): Promise<void> {
  const path = obj.apiVersion.includes("/") ? obj.apiVersion : `v1`;
  const mod = await import(/* @vite-ignore */ `kubernetes-models/${path}/${obj.kind}`);
  new mod[obj.kind](obj).validate();
}

const integerIn = (bits: number) => ({
  type: "number" as const,
  validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** (bits - 1),
});
/**
 * CRD patterns are Go (RE2) regular expressions; JavaScript has no inline flag groups, so a
 * leading `(?i)` (prometheus-operator's `^(?i)(abort|warn)?$`) becomes the `i` flag.
 */
const re2Pattern: NonNullable<CodeOptions["regExp"]> = Object.assign(
  (pattern: string, flags: string) => {
    const inline = /^(\^?)\(\?i\)/.exec(pattern);
    return inline ? new RegExp(inline[1] + pattern.slice(inline[0].length), `${flags}i`) : new RegExp(pattern, flags);
  },
  // Only standalone code generation reads this; validators here are compiled in process.
  { code: "new RegExp" },
);

/** The OpenAPI formats the CRDs use, checked for real rather than ignored with a warning. */
const ajv = new Ajv({
  strict: false,
  allErrors: true,
  code: { regExp: re2Pattern },
  formats: {
    int32: integerIn(32),
    int64: integerIn(64),
    "date-time": (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s),
  },
});
const crdIndex = new Map<string, object>();

/** Loads every CRD under schemas/crds, keyed by `group/version/Kind`. */
function loadCrds(): Map<string, object> {
  if (crdIndex.size > 0) return crdIndex;
  const dir = join(SCHEMAS, "crds");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".yaml"));
  for (const file of files) {
    const crd = parse(readFileSync(join(dir, file), "utf8"));
    for (const v of crd.spec.versions) crdIndex.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
  }
  return crdIndex;
}

/** Core objects are checked against Kubernetes' schema; anything else must have an upstream CRD. */
export async function validateObject(obj: { apiVersion: string; kind: string }): Promise<void> {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const custom = group.includes(".") && !group.endsWith(".k8s.io");
  if (!custom) return validateKubernetesObject(obj);
  const schema = loadCrds().get(`${group}/${version}/${obj.kind}`);
  if (!schema) throw new Error(`no CRD schema for ${obj.apiVersion} ${obj.kind} under schemas/crds`);
  const validate = ajv.compile(schema);
  const valid: boolean = validate(obj);
  if (!valid) throw new Error(`${obj.kind}: ${ajv.errorsText(validate.errors)}`);
}
