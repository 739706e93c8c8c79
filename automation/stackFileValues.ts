/**
 * The values of a stack file as Pulumi's CLI reads them, beside the `yaml` package's reading: any
 * value the two read differently is refused with what to write instead, so the config the plan
 * checks is the config `pulumi up` hands the program (test/stack-file-pulumi.real.test.ts runs the
 * real CLI on every form here).
 *
 * Pulumi reads the file with gopkg.in/yaml.v3 (sdk/go/common/encoding/marshal.go
 * `yamlMarshaler.Unmarshal`): plain scalars resolved by yaml.v3 resolve.go `resolve`, which keeps
 * YAML 1.1's octal `0123`, `0b…`, digits with `_` and dates, where the `yaml` package follows YAML
 * 1.2's core schema. Values then become JSON (sdk/go/common/resource/config/object.go
 * `MarshalString`), which has no infinity, and a map that is exactly `{ secure: <text> }` is a
 * secret wherever it sits (object.go `isSecureValue`). Messages never quote a value: a secret
 * pasted in plain text could be one.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, Scalar, type Document, type Node, type Pair } from "yaml";

/** What yaml.v3 makes of a plain (unquoted, untagged) scalar. */
export type GoScalar =
  | { kind: "str" | "null" | "timestamp" }
  | { kind: "bool"; value: boolean }
  | { kind: "int"; value: bigint }
  | { kind: "float"; value: number };

const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64_MAX = 2n ** 64n - 1n;
/** yaml.v3 resolve.go `yamlStyleFloat`. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** resolve.go `resolveMapList`: the words read without parsing. */
const WORDS: Record<string, GoScalar> = {
  ...Object.fromEntries(["true", "True", "TRUE"].map((w) => [w, { kind: "bool", value: true }])),
  ...Object.fromEntries(["false", "False", "FALSE"].map((w) => [w, { kind: "bool", value: false }])),
  ...Object.fromEntries(["", "~", "null", "Null", "NULL"].map((w) => [w, { kind: "null" }])),
  ...Object.fromEntries([".nan", ".NaN", ".NAN"].map((w) => [w, { kind: "float", value: NaN }])),
  ...Object.fromEntries(
    ["", "+", "-"].flatMap((sign) =>
      [".inf", ".Inf", ".INF"].map((w) => [sign + w, { kind: "float", value: sign === "-" ? -Infinity : Infinity }]),
    ),
  ),
};
/**
 * resolve.go `parseTimestamp` tries these only on text starting `YYYY-`; any that time.Parse
 * accepts becomes a date. Matched a little wider than time.Parse (no check that the month is
 * 1–12): a text this takes for a date is refused and quoting it is always right.
 */
const TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?([Zz]|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$/;

/** Go's strconv.ParseInt/ParseUint with base 0 (the prefix chooses the base), or undefined when it refuses. */
function goParseInt(text: string, signed: boolean): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m || (!signed && m[1] !== "")) return undefined;
  const body = m[2];
  // BigInt reads 0x/0b/0o in lower case only; Go's 0777 is octal.
  const digits = /^0[xXbBoO]/.test(body) ? `0${body[1].toLowerCase()}${body.slice(2)}` : /^0./.test(body) ? `0o${body.slice(1)}` : body;
  const value = (m[1] === "-" ? -1n : 1n) * BigInt(digits);
  return signed ? (value >= INT64[0] && value <= INT64[1] ? value : undefined) : value <= UINT64_MAX ? value : undefined;
}

/** yaml.v3 resolve.go `resolve(tag "", plain)`, for the kinds the program can be handed. */
export function goScalar(plain: string): GoScalar {
  if (plain in WORDS) return WORDS[plain];
  const hint = plain[0];
  if (hint === ".") {
    const value = Number(plain);
    return YAML_STYLE_FLOAT.test(plain) && Number.isFinite(value) ? { kind: "float", value } : { kind: "str" };
  }
  if (!/^[-+0-9]/.test(hint)) return { kind: "str" };
  if (TIMESTAMP.test(plain)) return { kind: "timestamp" };
  const digits = plain.replaceAll("_", "");
  const int = goParseInt(digits, true) ?? goParseInt(digits, false);
  if (int !== undefined) return { kind: "int", value: int };
  // ParseFloat's range error leaves the text a string.
  if (YAML_STYLE_FLOAT.test(digits) && Number.isFinite(Number(digits))) return { kind: "float", value: Number(digits) };
  return { kind: "str" };
}

const QUOTE = `quote it ("…") if it is text`;

/** Why the `yaml` package's `value` is not what Pulumi reads for the plain scalar `source`, or undefined when they agree. */
export function readingProblem(source: string, value: unknown): string | undefined {
  const go = goScalar(source);
  switch (go.kind) {
    case "timestamp":
      return `a date, which Pulumi's YAML hands the program as "2001-12-14 00:00:00 +0000 UTC" text: ${QUOTE.replace("if it is text", "to keep it as written")}`;
    case "str":
      if (typeof value === "string") return undefined;
      return typeof value === "number" && !Number.isFinite(value)
        ? `a number past the largest a float holds (1.8e308), which Pulumi reads as text and this plan as infinity: write a smaller number, or ${QUOTE}`
        : `a value Pulumi's YAML reads as text and this plan as ${value === null ? "empty" : typeof value}: ${QUOTE}`;
    case "null":
      return value === null ? undefined : `a value Pulumi's YAML reads as empty: ${QUOTE}`;
    case "bool":
      return value === go.value ? undefined : `a value Pulumi's YAML reads as ${go.value}: write true or false, or ${QUOTE}`;
    case "float":
      if (!Number.isFinite(go.value))
        return `infinity or not-a-number (.inf, .nan), which Pulumi cannot hand a program (JSON has neither): write a number, or ${QUOTE}`;
      return value === go.value ? undefined : `a number Pulumi's YAML reads as ${go.value}: write it in plain decimal, or ${QUOTE}`;
    case "int":
      if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value))
        return `a whole number past 2^53 (9007199254740991), which loses digits on its way to the program: quote it ("…") if it is an id, or write a smaller number`;
      if (typeof value === "number" && BigInt(value) === go.value) return undefined;
      if (typeof value === "number" && /^[-+]?0[0-9]/.test(source))
        return `a number with a leading zero, which Pulumi's YAML reads as octal (0123 is 83) and this plan as decimal: write it without the leading zero, or ${QUOTE}`;
      return `a number in a form Pulumi's YAML reads as a number and this plan as ${typeof value === "number" ? "another number" : "text"} (0b…, 0X…, a signed 0x…, or digits with _): write the number in decimal, or ${QUOTE}`;
  }
}

/** Double-quoted escapes yaml.v3 refuses (scannerc.go `yaml_parser_scan_flow_scalar`) and the `yaml` package accepts. */
export function escapeProblem(raw: string): string | undefined {
  for (const m of raw.matchAll(/\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))/gsu)) {
    const code = m[1] ?? m[2];
    if (code !== undefined) {
      const n = parseInt(code, 16);
      if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff)
        return `an escape (\\${m[1] ? "u" : "U"}${code}) for a surrogate or past U+10FFFF, which Pulumi's YAML refuses: write the character itself, or \\U and its code point's eight hex digits`;
    } else if (m[3] === "/") return `the escape \\/, which Pulumi's YAML does not know: write / alone`;
  }
  return undefined;
}

/** A plain `<<` key, which both readers take for a merge (the `yaml` package gives it a symbol for a value). */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === "symbol" && key.source === "<<";
}

/** A map Pulumi takes for a secret (object.go `isSecureValue`): exactly one key, `secure`, holding text. */
export function isSecureMap(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "secure" && typeof (value as { secure: unknown }).secure === "string";
}

interface Context {
  doc: Document;
  /** The file's text, for a double-quoted scalar's escapes as written. */
  text: string;
  at: (offset: number | undefined) => string;
}

/** Problems in one config value node, found without expanding aliases; `path` is its key path. */
function nodeProblems(node: Node | null, path: string, cx: Context): string[] {
  const { at } = cx;
  if (node === null || isAlias(node)) return []; // an alias is checked where its anchor is
  const where = `${at(node.range?.[0])}: ${path}`;
  if (isScalar(node)) {
    if (node.type === Scalar.QUOTE_DOUBLE) {
      const problem = escapeProblem(cx.text.slice(node.range?.[0], node.range?.[1]));
      return problem ? [`${where}: ${problem}`] : [];
    }
    if (node.type !== Scalar.PLAIN || node.tag) return [];
    const problem = readingProblem(String(node.source ?? node.value), node.value);
    return problem ? [`${where}: ${problem}`] : [];
  }
  if (isSeq(node)) return node.items.flatMap((item, i) => nodeProblems(item as Node | null, `${path}[${i}]`, cx));
  if (!isMap(node)) return [];
  const problems: string[] = [];
  const merges = (node.items as Pair[]).filter((p) => isMergeKey(p.key));
  if (merges.length > 1)
    problems.push(
      `${at((merges[1].key as Node).range?.[0])}: ${path}: a second merge key (<<) in one map, which Pulumi's YAML refuses: merge them in one list (<<: [*a, *b])`,
    );
  for (const pair of node.items as Pair[]) {
    const key = pair.key as Node | null;
    if (merges.includes(pair)) {
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      const ok = sources.every((s) => isMap(s) || (isAlias(s) && isMap(s.resolve(cx.doc))));
      if (!ok) problems.push(`${at(key?.range?.[0])}: ${path}: a merge key (<<) needs a map, an alias to one, or a list of them`);
      continue;
    }
    const name = isScalar(key) ? String(key.value) : "";
    // Pulumi writes the file's values out as YAML and reads them again (workspace/loaders.go
    // LoadProjectStackBytes): a quoted "<<" comes back plain, a merge key.
    if (name === "<<")
      problems.push(
        `${at(key?.range?.[0])}: ${path}: a quoted "<<" key, which Pulumi's YAML reads again as a merge key (<<): name the key otherwise`,
      );
    if (isScalar(key) && key.type === Scalar.PLAIN && !key.tag) {
      const go = goScalar(String(key.source ?? key.value));
      const same =
        (go.kind === "str" && typeof key.value === "string") ||
        (go.kind === "bool" && key.value === go.value) ||
        (go.kind === "int" && typeof key.value === "number" && Number.isSafeInteger(key.value) && BigInt(key.value) === go.value);
      if (!same)
        problems.push(
          `${at(key.range?.[0])}: ${path}: a key Pulumi's YAML reads differently (a date, empty, a fraction, or a number with a leading zero or in another base): quote the key ("…")`,
        );
    }
    problems.push(...nodeProblems(pair.value as Node | null, `${path}.${name}`, cx));
  }
  return problems;
}

/**
 * Every value of `config` (the stack file's `config:` map) that Pulumi reads differently from
 * `doc`, parsed from `text`, at its line and column; and a secret nested inside a plain value,
 * which Pulumi decrypts into the value the program gets while this plan would see ciphertext.
 */
export function valueProblems(doc: Document, config: Node, text: string, at: (offset: number | undefined) => string): string[] {
  if (!isMap(config)) return [];
  const pairs = (config.items as Pair[]).filter((p) => isPair(p) && isScalar(p.key));
  const problems = pairs.flatMap((pair) => nodeProblems(pair.value as Node | null, String((pair.key as Scalar).value), { doc, text, at }));
  // Only a file whose merges are sound can be turned into values (a merge of a scalar throws).
  if (problems.length > 0) return problems;
  const values = (doc.toJS({ maxAliasCount: -1 }) as { config: Record<string, unknown> }).config;
  for (const pair of pairs) {
    const key = String((pair.key as Scalar).value);
    if (!isSecureMap(values[key]) && nestedSecret(values[key]))
      problems.push(
        `${at((pair.key as Node).range?.[0])}: ${key}: holds a secret inside its value, which Pulumi decrypts into the value while this plan sees ciphertext: set the whole key as a secret (pulumi config set --secret ${key} …)`,
      );
  }
  return problems;
}

function nestedSecret(value: unknown): boolean {
  if (isSecureMap(value)) return true;
  if (value === null || typeof value !== "object") return false;
  return Object.values(value).some(nestedSecret);
}
