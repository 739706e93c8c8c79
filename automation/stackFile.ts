/**
 * Reads `Pulumi.<stack>.yaml` the way the offline plan needs it: YAML problems (a tab, an unclosed
 * map, a duplicated key) reported as `file:line:column`, unknown top-level keys refused, values
 * turned into Pulumi's config map; ciphertext and missing secrets become placeholders. Loads no
 * Pulumi SDK, so a refused file is answered at once.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, parseDocument, type Pair } from "yaml";
import { didYouMean } from "../model/config/issues";
import { ConfigError } from "../stacks/config";
import { requiredSecretKeys, secretPlaceholder } from "./placeholders";

/** The keys Pulumi's stack settings file may hold (pulumi/pulumi sdk/go/common/workspace/project.go). */
const STACK_FILE_KEYS = ["config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"];

export interface StackConfig {
  /** Pulumi's config map: `enclii:domain` → text, objects as JSON text. */
  config: Record<string, string>;
  secretKeys: string[];
  /** Secrets a real `pulumi up` still needs: absent from the file or held only as ciphertext. */
  placeholders: string[];
}

/** `file:line:column` of a node, for messages. */
function at(file: string, text: string, offset: number | undefined): string {
  if (offset === undefined) return file;
  const before = text.slice(0, offset).split("\n");
  return `${file}:${before.length}:${before[before.length - 1].length + 1}`;
}

/** `required`: the secrets a real `pulumi up` of this stack reads, given its plain config (the platform's by default). */
export function parseStackFile(
  file: string,
  text: string,
  required: (plain: Record<string, string>) => string[] = requiredSecretKeys,
): StackConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first error only: the parser's later ones follow from it. Its message loses any quoted
    // token, which could be a secret's value pasted on that line.
    const e = doc.errors[0];
    const message = e.message
      .split("\n")[0]
      .replace(/ at line \d+, column \d+:?$/, "")
      .replace(/:\s*".*$/, "");
    throw new ConfigError([`${file}:${e.linePos?.[0].line ?? 1}:${e.linePos?.[0].col ?? 1}: ${message}`]);
  }
  const problems: string[] = [];
  const root = doc.contents;
  if (root !== null && !isMap(root))
    throw new ConfigError([`${at(file, text, root.range?.[0])}: must be a map of stack settings (config: …)`]);
  const plain: Record<string, string> = {};
  const secure: string[] = [];
  for (const pair of (root?.items ?? []) as Pair[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!STACK_FILE_KEYS.includes(name)) {
      const hint = didYouMean(name, STACK_FILE_KEYS);
      problems.push(
        `${at(file, text, isScalar(pair.key) ? pair.key.range?.[0] : undefined)}: unknown stack setting "${name}"${hint ? `; did you mean "${hint}"?` : ""}`,
      );
      continue;
    }
    if (name !== "config" || pair.value === null) continue;
    if (!isMap(pair.value)) {
      problems.push(`${at(file, text, (pair.value as { range?: number[] }).range?.[0])}: config must be a map of keys`);
      continue;
    }
    const values = (doc.toJS() as { config: Record<string, unknown> }).config;
    for (const item of pair.value.items as Pair[]) {
      const key = isScalar(item.key) ? String(item.key.value) : JSON.stringify(item.key);
      const value = values[key];
      const where = at(file, text, isScalar(item.key) ? item.key.range?.[0] : undefined);
      if (!/^[^:\s]+:[^\s]+$/.test(key))
        problems.push(`${where}: ${key}: not a config key: keys are namespace:name, such as enclii:domain`);
      else if (value === null || value === undefined) problems.push(`${where}: ${key}: has no value`);
      else if (typeof value === "object" && !Array.isArray(value) && "secure" in value) secure.push(key);
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
  return parseStackFile(file, readFileSync(file, "utf8"), required);
}
