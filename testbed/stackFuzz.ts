/**
 * Stack files for property-based testing (fast-check), shared by `test/stack-fuzz.test.ts` (a few
 * hundred cases, fixed seed) and `bench/config.ts` (thousands): the four valid stack files, with
 * keys replaced by values generated from their zod schemas (so the rules across keys meet values
 * each key accepts on its own), then mutated along the config's own structure the way people
 * break them (a key deleted, renamed, retyped, a value swapped for a wrong one, a secret pasted in
 * plain text) and at the YAML level (a tab, a lost character, a duplicated line, a cut-off file).
 *
 * The property: a file either plans (exit 0) or is refused (exit 2) with every problem naming a
 * key path or a file position; never another error, never a secret in what is printed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import type { z } from "zod";
import { parseStackFile, type StackConfig } from "../automation/stackFile";
import { NAMESPACE, keySchemas } from "../model/config/schema";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";

const ROOT = join(__dirname, "..");
export const FUZZ_FILE = "Pulumi.fuzz.yaml";
const SEEDS = ["Pulumi.production.yaml", "Pulumi.staging.yaml", "examples/Pulumi.ha.yaml", "examples/Pulumi.external.yaml"].map((f) =>
  readFileSync(join(ROOT, f), "utf8"),
);
/** Pasted as a secret's plain value: it must never be printed back. */
export const CANARY = "CANARYsecret7f3a9c";
const SECRET_KEYS = [
  "enclii:sshPrivateKey",
  "enclii:smtpPassword",
  "enclii:externalDatabaseUrls",
  "enclii:januaSigningKeys",
  "hcloud:token",
];
/** Where a problem must say it is: a file position, or a config key path (`enclii:nodes[0].count:`), or a spec file. */
const LOCATED = /^(Pulumi\.fuzz\.yaml(:\d+:\d+)?: |[A-Za-z][\w-]*:[^\s:]*(:[^\s:]+)*: |dogfooding\/[\w-]+\.ya?ml: )/;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const small: fc.Arbitrary<Json> = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }),
  fc.constantFrom(0, -1, 1.5, 1e9, 1e21, 2 ** 53, 65_536),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    "",
    " ",
    "a b",
    "%zz",
    "x".repeat(5_000),
    "0.0.0.0/1",
    "v1.99.0+k3s1",
    "latest",
    "Äö",
    "null",
    "cpx31",
    "sentinel",
    "external",
  ),
  fc.boolean(),
  fc.constant(null),
);
const wild: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: small },
  { weight: 1, arbitrary: fc.array(small, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("name", "mode", "host", "port", "count", "kind", "x"), small, { maxKeys: 3 }) },
);

type Def = Record<string, unknown> & { type: string; checks?: { _zod: { def: Record<string, unknown> } }[] };
const defOf = (schema: unknown) => (schema as z.core.$ZodType)._zod.def as unknown as Def;
const checksOf = (d: Def) => (d.checks ?? []).map((c) => c._zod.def);

/**
 * Values a zod schema accepts field by field (its regexes, bounds, enums, shapes); refinements
 * and rules across fields are left to chance, which is the point: those are what the rules check.
 */
export function schemaArbitrary(schema: unknown, depth = 0): fc.Arbitrary<Json> {
  const d = defOf(schema);
  const checks = checksOf(d);
  const bound = (name: string) =>
    checks.find((c) => c.check === name) as { value?: number; minimum?: number; maximum?: number } | undefined;
  switch (d.type) {
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
      return fc.option(schemaArbitrary(d.innerType, depth), { nil: undefined as unknown as null }).map((v) => v ?? null);
    case "pipe":
      return schemaArbitrary(d.in, depth);
    case "string": {
      const format = checks.find((c) => c.check === "string_format") as { format?: string; pattern?: RegExp } | undefined;
      if (format?.format === "email") return fc.emailAddress();
      if (format?.format === "datetime") return fc.date({ noInvalidDate: true }).map((t) => t.toISOString().replace(/\.\d{3}Z$/, "Z"));
      // Lookaheads are beyond fast-check's regex support; they only bound the length, which maxLength does.
      if (format?.pattern)
        return fc.stringMatching(new RegExp(format.pattern.source.replace(/\(\?=[^)]*\)/g, ""))).map((v) => v.slice(0, 253));
      return fc.string({ minLength: bound("min_length")?.minimum ?? 0, maxLength: Math.min(bound("max_length")?.maximum ?? 20, 40) });
    }
    case "number": {
      const min = bound("greater_than")?.value ?? -1e6;
      const max = bound("less_than")?.value ?? 1e6;
      const int = checks.some((c) => c.check === "number_format");
      return int
        ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
        : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case "boolean":
      return fc.boolean();
    case "enum":
      return fc.constantFrom(...(Object.values(d.entries as Record<string, string>) as string[]));
    case "literal":
      return fc.constantFrom(...(d.values as Json[]));
    case "array": {
      const maxLength = Math.min(bound("max_length")?.maximum ?? 4, depth > 1 ? 2 : 4);
      return fc.array(schemaArbitrary(d.element, depth + 1), { minLength: bound("min_length")?.minimum ?? 0, maxLength });
    }
    case "union":
      return fc.oneof(...(d.options as unknown[]).map((o) => schemaArbitrary(o, depth + 1)));
    case "object":
      return fc
        .record(Object.fromEntries(Object.entries(d.shape as Record<string, unknown>).map(([k, v]) => [k, schemaArbitrary(v, depth + 1)])))
        .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as Json);
    case "record":
      return fc.dictionary(schemaArbitrary(d.keyType, depth + 1) as fc.Arbitrary<string>, schemaArbitrary(d.valueType, depth + 1), {
        maxKeys: 3,
      });
    default:
      return small;
  }
}

const KEYS = Object.keys(keySchemas) as (keyof typeof keySchemas)[];

type Op =
  | { kind: "generate"; key: number; value: Json }
  | { kind: "set"; path: number[]; value: Json }
  | { kind: "delete"; path: number[] }
  | { kind: "rename"; path: number[]; how: "case" | "drop" | "colon" | "namespace" | "unknown" }
  | { kind: "secret"; key: number; how: "plain" | "url" }
  | { kind: "text"; how: "tab" | "drop" | "duplicate" | "truncate" | "unclosed"; at: number };

const path = fc.array(fc.nat(40), { minLength: 1, maxLength: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .nat(KEYS.length - 1)
      .chain((key) => schemaArbitrary(keySchemas[KEYS[key]]).map((value) => ({ kind: "generate" as const, key, value }))),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("set" as const), path, value: wild }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), path }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("rename" as const),
      path,
      how: fc.constantFrom("case" as const, "drop" as const, "colon" as const, "namespace" as const, "unknown" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("secret" as const),
      key: fc.nat(SECRET_KEYS.length - 1),
      how: fc.constantFrom("plain" as const, "url" as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("text" as const),
      how: fc.constantFrom("tab" as const, "drop" as const, "duplicate" as const, "truncate" as const, "unclosed" as const),
      at: fc.nat(10_000),
    }),
  },
);

export interface Case {
  seed: number;
  ops: Op[];
}
export const caseArbitrary: fc.Arbitrary<Case> = fc.record({ seed: fc.nat(SEEDS.length - 1), ops: fc.array(op, { maxLength: 3 }) });

/** The container and key a path leads to, following the config's real structure (indices wrap). */
function locate(
  root: Record<string, Json>,
  indices: number[],
): { parent: Json[] | Record<string, Json>; key: string | number } | undefined {
  let parent: Json[] | Record<string, Json> = root;
  for (let i = 0; i < indices.length; i++) {
    const keys: (string | number)[] = Array.isArray(parent) ? parent.map((_, k) => k) : Object.keys(parent);
    if (keys.length === 0) return undefined;
    const key = keys[indices[i] % keys.length];
    const child: Json = Array.isArray(parent) ? parent[key as number] : parent[key as string];
    if (i === indices.length - 1 || child === null || typeof child !== "object") return { parent, key };
    parent = child;
  }
  return undefined;
}

function renamed(key: string, how: Extract<Op, { kind: "rename" }>["how"]): string {
  switch (how) {
    case "case":
      return key.toUpperCase();
    case "drop":
      return key.length > 1 ? key.slice(0, -2) + key.slice(-1) : `${key}x`;
    case "colon":
      return `${key}:extra`;
    case "namespace":
      return key.replace(/^enclii:/, "encli:");
    case "unknown":
      return `${key}z`;
  }
}

function applyToConfig(config: Record<string, Json>, o: Op): void {
  if (o.kind === "generate") {
    const key = `${NAMESPACE}:${KEYS[o.key]}`;
    if (o.value === null) delete config[key];
    else config[key] = o.value;
    return;
  }
  if (o.kind === "secret") {
    const key = SECRET_KEYS[o.key];
    config[key] =
      o.how === "plain" ? CANARY : { enclii: `postgres://u:${CANARY}@db.example.net:5432/e`, janua: `postgres://u%zz:${CANARY}@h/j` };
    return;
  }
  if (o.kind === "text") return;
  const at = locate(config, o.path);
  if (!at) return;
  const { parent, key } = at;
  if (o.kind === "set") {
    if (Array.isArray(parent)) parent[key as number] = o.value;
    else parent[key as string] = o.value;
  } else if (o.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
  } else if (!Array.isArray(parent)) {
    const value = parent[key as string];
    delete parent[key as string];
    parent[renamed(String(key), o.how)] = value;
  }
}

function applyToText(text: string, o: Extract<Op, { kind: "text" }>): string {
  const lines = text.split("\n");
  const i = o.at % Math.max(1, lines.length);
  switch (o.how) {
    case "tab":
      lines[i] = `\t${lines[i].trimStart()}`;
      return lines.join("\n");
    case "drop": {
      const c = o.at % Math.max(1, text.length);
      return text.slice(0, c) + text.slice(c + 1);
    }
    case "duplicate":
      lines.splice(i, 0, lines[i]);
      return lines.join("\n");
    case "truncate":
      return text.slice(0, o.at % Math.max(1, text.length));
    case "unclosed":
      lines[i] = `${lines[i]} {`;
      return lines.join("\n");
  }
}

/** The stack file a case describes. */
export function render(c: Case): string {
  const doc = (parse(SEEDS[c.seed]) ?? {}) as { config?: Record<string, Json> };
  const config = doc.config ?? {};
  for (const o of c.ops) applyToConfig(config, o);
  let text = stringify({ ...doc, config });
  for (const o of c.ops) if (o.kind === "text") text = applyToText(text, o);
  return text;
}

export interface Outcome {
  code: 0 | 1 | 2;
  /** The problems (exit 2) or the error (exit 1), as the CLI would print them. */
  printed: string;
  cfg?: StackConfig;
}

/** What `npm run plan` decides about the text before it loads the program. */
export function check(text: string, specs = readSpecFiles(DOGFOODING_DIR)): Outcome {
  try {
    const cfg = parseStackFile(FUZZ_FILE, text);
    parseEnvironment("fuzz", cfg.config, new Set(cfg.secretKeys), specs);
    return { code: 0, printed: "", cfg };
  } catch (err) {
    if (err instanceof ConfigError) return { code: 2, printed: err.problems.join("\n") };
    return { code: 1, printed: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}

/** Why an outcome breaks the property, or undefined when it holds. */
export function violation(o: Outcome): string | undefined {
  if (o.code === 1) return `exit 1 with ${o.printed.split("\n")[0]}`;
  if (o.printed.includes(CANARY)) return "a secret was printed";
  if (o.code === 2) {
    const unplaced = o.printed.split("\n").filter((p) => !LOCATED.test(p));
    if (unplaced.length > 0) return `problems without a key path: ${unplaced.join(" | ")}`;
  }
  return undefined;
}

/**
 * An accepted case planned through the real program; undefined when the program refuses it for a
 * reason only the plan can judge (an `enclii:adopt` name checked against what it registers), each
 * problem naming its key. Anything else it throws is a failure of the property.
 */
export async function planAccepted<T>(plan: () => Promise<T>): Promise<T | undefined> {
  try {
    return await plan();
  } catch (err) {
    if (err instanceof ConfigError && err.problems.every((p) => p.startsWith(`${NAMESPACE}:adopt.`))) return undefined;
    throw err;
  }
}
