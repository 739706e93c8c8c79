/**
 * Reads `Pulumi.<stack>.yaml` the way the offline plan needs it: YAML problems (a tab, an unclosed
 * map, a duplicated key) reported as `file:line:column`, and so are bytes and YAML that Pulumi reads
 * differently (stackFileText.ts, stackFileValues.ts); unknown top-level keys refused, values
 * turned into Pulumi's config map; ciphertext and missing secrets become placeholders. Loads no
 * Pulumi SDK, so a refused file is answered at once.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, parseDocument, type Pair } from "yaml";
import { didYouMean } from "../model/config/issues";
import { ConfigError } from "../stacks/config";
import { requiredSecretKeys, secretPlaceholder } from "./placeholders";
import { aliasProblems, characterProblems, decodeStackFile, duplicateKeyProblems, locator, structureProblems } from "./stackFileText";
import { isMergeKey, isSecureMap, valueProblems } from "./stackFileValues";

/** The keys Pulumi's stack settings file may hold (pulumi/pulumi sdk/go/common/workspace/project.go). */
const STACK_FILE_KEYS = ["config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"];

/**
 * The most a stack file may hold. The largest valid file is a full shard: 100 tenants of 20
 * hostnames of 253 characters, about 0.55 MB as YAML (test/stack-file.test.ts builds it); the
 * platform's files are a few KB. A larger file is refused before it is parsed, so a pasted log or
 * a generated mistake costs a file-size check, not seconds of parsing.
 */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;

export interface StackConfig {
  /** Pulumi's config map: `enclii:domain` → text, objects as JSON text. */
  config: Record<string, string>;
  secretKeys: string[];
  /** Secrets a real `pulumi up` still needs: absent from the file or held only as ciphertext. */
  placeholders: string[];
}

/**
 * `file` as read from disk (bytes, so text that is not UTF-8 is found) or already text.
 * `required`: the secrets a real `pulumi up` of this stack reads, given its plain config (the platform's by default).
 */
export function parseStackFile(
  file: string,
  content: string | Uint8Array,
  required: (plain: Record<string, string>) => string[] = requiredSecretKeys,
): StackConfig {
  const size = typeof content === "string" ? Buffer.byteLength(content) : content.length;
  if (size > MAX_STACK_FILE_BYTES)
    throw new ConfigError([
      `${file}: ${size.toLocaleString("en")} bytes, past the ${MAX_STACK_FILE_BYTES.toLocaleString("en")} a stack file may hold (a full shard of 100 tenants is about 0.55 MB): remove what does not belong in it`,
    ]);
  const decoded =
    typeof content === "string" ? { text: content, problems: characterProblems(file, content) } : decodeStackFile(file, content);
  if (decoded.text === undefined) throw new ConfigError(decoded.problems);
  const text = decoded.text;
  const locate = locator(file, text);
  /** `file:line:column` of a node, for messages. */
  const at = (offset: number | undefined) => (offset === undefined ? file : locate(offset));
  // Merge keys (<<) as Pulumi's Go YAML reads them: the merged map's own keys win, then the first source.
  const doc = parseDocument(text, { uniqueKeys: false, merge: true });
  // A second document is refused in structureProblems' words, with the rest.
  const errors = doc.errors.filter((e) => e.code !== "MULTIPLE_DOCS");
  // A character refused above (a carriage return alone) also breaks the YAML after it: the parser's
  // error then only repeats it, less clearly.
  if (errors.length > 0 && decoded.problems.length > 0) throw new ConfigError(decoded.problems);
  if (errors.length > 0) {
    // The first error only: the parser's later ones follow from it. Its message loses any quoted
    // token, which could be a secret's value pasted on that line.
    const e = errors[0];
    const message = e.message
      .split("\n")[0]
      .replace(/ at line \d+, column \d+:?$/, "")
      .replace(/:\s*".*$/, "");
    throw new ConfigError([...decoded.problems, `${file}:${e.linePos?.[0].line ?? 1}:${e.linePos?.[0].col ?? 1}: ${message}`]);
  }
  const problems: string[] = [...decoded.problems, ...structureProblems(file, text), ...duplicateKeyProblems(file, text, doc)];
  // Aliases past the limit, or to nothing, are never expanded: values are read only from a file without them.
  const aliases = aliasProblems(file, text, doc);
  if (aliases.length > 0) throw new ConfigError([...problems, ...aliases]);
  const root = doc.contents;
  if (root !== null && !isMap(root))
    throw new ConfigError([...problems, `${at(root.range?.[0])}: must be a map of stack settings (config: …)`]);
  const plain: Record<string, string> = {};
  const secure: string[] = [];
  for (const pair of (root?.items ?? []) as Pair[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!STACK_FILE_KEYS.includes(name)) {
      const hint = didYouMean(name, STACK_FILE_KEYS);
      problems.push(
        `${at(isScalar(pair.key) ? pair.key.range?.[0] : undefined)}: unknown stack setting "${name}"${hint ? `; did you mean "${hint}"?` : ""}`,
      );
      continue;
    }
    if (name !== "config" || pair.value === null) continue;
    if (!isMap(pair.value)) {
      problems.push(
        `${at((pair.value as { range?: number[] }).range?.[0])}: config must be a map of keys: write each key on its own line under it, indented (enclii:domain: …)`,
      );
      continue;
    }
    // Values are read only from a config both readers read alike (a merge of a scalar would throw);
    // the keys are checked either way.
    const readings = valueProblems(doc, pair.value, text, at);
    problems.push(...readings);
    // structureProblems bounded the aliases; the package's own count (a ReferenceError) is not needed.
    const values = readings.length > 0 ? {} : (doc.toJS({ maxAliasCount: -1 }) as { config: Record<string, unknown> }).config;
    for (const item of pair.value.items as Pair[]) {
      const key = isScalar(item.key) ? String(item.key.value) : JSON.stringify(item.key);
      const value = values[key];
      const where = at(isScalar(item.key) ? item.key.range?.[0] : undefined);
      if (isMergeKey(item.key)) problems.push(`${where}: a merge key (<<) directly under config: write each key out`);
      else if (!/^[^:\s]+:[^\s]+$/.test(key))
        problems.push(`${where}: ${key}: not a config key: keys are namespace:name, such as enclii:domain`);
      else if (readings.length > 0) continue;
      else if (value === null || value === undefined) problems.push(`${where}: ${key}: has no value: write one, or remove the key`);
      else if (isSecureMap(value)) secure.push(key);
      else plain[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = { ...plain };
  const placeholders = [...secure, ...required(plain).filter((k) => plain[k] === undefined && !secure.includes(k))];
  for (const key of placeholders) config[key] = secretPlaceholder(key, plain);
  return { config, secretKeys: [...new Set([...secure, ...placeholders])].sort(), placeholders: placeholders.sort() };
}

export function loadStackConfig(file: string, required?: (plain: Record<string, string>) => string[]): StackConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    // A directory in the file's place, a file without read permission: the user's to fix, not a crash.
    const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
    throw new ConfigError([`${file}: cannot be read (${code === "EISDIR" ? "a directory, not a stack file" : code})`]);
  }
  return parseStackFile(file, bytes, required);
}
