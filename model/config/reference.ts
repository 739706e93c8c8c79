/**
 * The config reference (docs/config.md), generated from the schemas themselves: each key's type,
 * default, limits and description come from its zod schema (descriptions live beside the
 * schemas, as `.describe()`), through zod's own JSON Schema conversion, so the page cannot say
 * what the parser does not do. `npm run docs` writes it; a test fails when the page is stale.
 */
import { z } from "zod";
import { pagingSchema, PAGING_KEY } from "../observability/config";
import { NAMESPACE, REQUIRED, SECRET_KEY_DOCS, keySchemas } from "./schema";
import { PLATFORM_STACK_KEY, TENANTS_KEY, platformStackSchema, shardTenants } from "./tenants";

/** The part of a JSON Schema (draft 2020-12, as zod writes it) the reference reads. */
interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  items?: Node;
  oneOf?: Node[];
  anyOf?: Node[];
}

const toNode = (schema: z.ZodType): Node => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Node;
const code = (v: unknown) => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;
/** Table cells: a `|` would end the cell. */
const cell = (s: string) => s.replaceAll("|", "\\|");

function variants(n: Node): Node[] | undefined {
  return n.oneOf ?? n.anyOf;
}

/** A union of objects told apart by one field with a constant per variant (`kind`, `mode`): that field's name. */
function discriminatorOf(alternatives: Node[]): string | undefined {
  const [first] = alternatives;
  return Object.keys(first.properties ?? {}).find((k) => alternatives.every((v) => v.properties?.[k]?.const !== undefined));
}

function typeOf(n: Node): string {
  const alternatives = variants(n);
  if (alternatives) {
    const d = discriminatorOf(alternatives);
    return d ? `object by \`${d}\`` : alternatives.map(typeOf).join(" or ");
  }
  if (n.const !== undefined) return code(n.const);
  if (n.enum) return n.enum.map(code).join(", ");
  if (n.type === "array") return `list of ${n.items ? typeOf(n.items) : "values"}`;
  if (n.type === "object") return typeof n.additionalProperties === "object" ? `map: name → ${typeOf(n.additionalProperties)}` : "object";
  if (n.format === "date-time") return "RFC 3339 time";
  if (n.format === "email") return "email address";
  if (n.format === "uri") return "URL";
  return n.type === "integer" ? "whole number" : (n.type ?? "any");
}

function limitsOf(n: Node): string {
  const range = (lo?: number, hi?: number, unit = "") => {
    if (lo === undefined && hi === undefined) return [];
    if (lo === undefined) return [`at most ${hi}${unit}`];
    return [hi === undefined ? `at least ${lo}${unit}` : `${lo}..${hi}${unit}`];
  };
  return [
    ...range(n.minimum, n.maximum),
    ...range(n.minItems, n.maxItems, " items"),
    ...range(n.minLength, n.maxLength, " characters"),
  ].join(", ");
}

function defaultOf(n: Node): string {
  if (n.default === undefined) return "";
  // A `{}` default means "each field's own default", which the rows below state.
  if (typeof n.default === "object" && n.default !== null && Object.keys(n.default).length === 0 && !Array.isArray(n.default)) return "";
  return code(n.default);
}

interface Row {
  path: string;
  type: string;
  required: string;
  default: string;
  limits: string;
  description: string;
}

/** One row per field, depth first; a union of objects gives each variant's fields, marked by its discriminator. */
function rows(n: Node, path: string, required: boolean, out: Row[], when = ""): Row[] {
  out.push({
    path,
    type: typeOf(n),
    required: required ? "yes" : "",
    default: defaultOf(n),
    limits: limitsOf(n),
    description: [when, n.description ?? ""].filter(Boolean).join(" "),
  });
  const alternatives = variants(n);
  const d = alternatives && discriminatorOf(alternatives);
  if (alternatives && d) {
    out.push({
      path: `${path}.${d}`,
      type: alternatives.map((v) => code(v.properties![d].const)).join(", "),
      required: alternatives.every((v) => v.required?.includes(d)) ? "yes" : "",
      default: "",
      limits: "",
      description: alternatives.map((v) => `${code(v.properties![d].const)}: ${v.properties![d].description ?? ""}`).join("; "),
    });
    for (const v of alternatives) {
      const mark = `(${d}: ${code(v.properties![d].const)})`;
      for (const [k, p] of Object.entries(v.properties ?? {}))
        if (k !== d) rows(p, `${path}.${k}`, v.required?.includes(k) ?? false, out, mark);
    }
  }
  if (n.properties) for (const [k, p] of Object.entries(n.properties)) rows(p, `${path}.${k}`, n.required?.includes(k) ?? false, out, when);
  const values = n.additionalProperties;
  if (typeof values === "object" && values.properties)
    for (const [k, p] of Object.entries(values.properties))
      rows(p, `${path}.<name>.${k}`, values.required?.includes(k) ?? false, out, when);
  if (n.type === "array" && n.items) {
    const item = n.items;
    if (item.properties || variants(item)) {
      const children: Row[] = [];
      rows(item, `${path}[]`, false, children, when);
      out.push(...children.slice(1));
    }
  }
  return out;
}

function table(rs: Row[]): string[] {
  return [
    "| key | type | required | default | limits | description |",
    "|---|---|---|---|---|---|",
    ...rs.map((r) => `| \`${r.path}\` | ${cell(r.type)} | ${r.required} | ${cell(r.default)} | ${r.limits} | ${cell(r.description)} |`),
  ];
}

function section(key: string, schema: z.ZodType, required: boolean, secret = false): string[] {
  const node = toNode(schema);
  const all = rows(node, key, required, []);
  const undescribed = all.filter((r) => !r.description.replace(/^\([^)]*\)/, "").trim()).map((r) => r.path);
  if (undescribed.length) throw new Error(`no description (.describe() beside the schema) for ${undescribed.join(", ")}`);
  const [top, ...fields] = all;
  return [
    `### \`${key}\``,
    "",
    `${secret ? "**Secret.** " : ""}${top.description}`,
    "",
    ...table([{ ...top, description: "" }, ...fields]),
    "",
  ];
}

/** The whole page, byte for byte what `npm run docs` writes. */
export function configReference(): string {
  const plain = Object.entries(keySchemas).flatMap(([key, schema]) =>
    section(`${NAMESPACE}:${key}`, schema as z.ZodType, REQUIRED.includes(key as keyof typeof keySchemas)),
  );
  const secrets = [
    "| key | needed | what |",
    "|---|---|---|",
    ...Object.entries(SECRET_KEY_DOCS)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, d]) => `| \`${key}\` | ${cell(d.needed)} | ${cell(d.description)} |`),
  ];
  return [
    "<!-- Generated by `npm run docs` from the zod schemas in model/ (model/config/reference.ts); edit the schemas' descriptions, not this page. -->",
    "",
    "# Config reference",
    "",
    "Every key a stack file may set, generated from the schemas that parse it. A key's problems are",
    "reported by key path, all at once, before anything is registered; the rules that span keys are in",
    "[config-rules.md](config-rules.md). Set a field with `pulumi config set --path 'enclii:postgres.storageGi' 80`.",
    "",
    "## The platform stack (`enclii:`)",
    "",
    ...plain,
    "## Secrets",
    "",
    "Set each with `pulumi config set --secret`; a plain value is refused. Messages about a secret name its",
    "fields, never its content.",
    "",
    ...secrets,
    "",
    ...section(PAGING_KEY, pagingSchema, false, true),
    "## Tenant shard stacks (`enclii-tenants:`)",
    "",
    "One `tenants/Pulumi.<environment>-NNN.yaml` per shard ([tenants.md](tenants.md)).",
    "",
    ...section(TENANTS_KEY, shardTenants, false),
    ...section(PLATFORM_STACK_KEY, platformStackSchema, false),
  ].join("\n");
}
