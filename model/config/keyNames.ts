/**
 * Keys that look like ours but are not: a typo in a key or its namespace would otherwise switch a
 * feature off without a word. Other namespaces (hcloud:, cloudflare:, …) are their providers' to judge.
 */
import { didYouMean } from "./issues";
import { TENANTS_DIR, TENANTS_KEY } from "./tenants";
import { PAGING_KEY } from "../observability/config";
import { EXTERNAL_URLS_KEY, NAMESPACE, SECRET_CONFIG_KEYS, SMTP_PASSWORD_KEY, keySchemas } from "./schema";

const KNOWN = [
  ...Object.keys(keySchemas),
  ...SECRET_CONFIG_KEYS,
  ...[EXTERNAL_URLS_KEY, SMTP_PASSWORD_KEY, PAGING_KEY].map((k) => k.slice(NAMESPACE.length + 1)),
];

/** Keys an earlier layout read, with where their content lives now. */
const MOVED: Record<string, string> = {
  tenants: `tenants live in their shard stacks now (${TENANTS_DIR}/Pulumi.<environment>-NNN.yaml, key ${TENANTS_KEY}); set ${NAMESPACE}:customHostnames: true here (docs/tenants.md)`,
};

function suggestion(name: string): string {
  const hint = didYouMean(name, KNOWN);
  return hint ? `; did you mean ${NAMESPACE}:${hint}?` : ` (known: ${[...KNOWN].sort().join(", ")})`;
}

/** A problem for every key of ours (or nearly ours) that the program would not read. */
export function checkKeyNames(keys: readonly string[]): string[] {
  const problems: string[] = [];
  for (const key of [...keys].sort()) {
    // Pulumi (and the stack file reader) only hand over keys of the form namespace:name.
    const colon = key.indexOf(":");
    const [ns, name] = [key.slice(0, colon), key.slice(colon + 1)];
    if (ns === NAMESPACE) {
      const [head, ...fields] = name.split(":");
      if (fields.length > 0 && KNOWN.includes(head)) {
        problems.push(
          `${key}: unknown config key; did you mean ${NAMESPACE}:${head}? A field is set with pulumi config set --path ${NAMESPACE}:${head}.${fields.join(".")}`,
        );
      } else if (Object.hasOwn(MOVED, name)) problems.push(`${key}: ${MOVED[name]}`);
      else if (!KNOWN.includes(name)) problems.push(`${key}: unknown config key${suggestion(name)}`);
    } else if (didYouMean(ns, [NAMESPACE])) {
      problems.push(`${key}: unknown namespace "${ns}"; did you mean ${NAMESPACE}:${didYouMean(name, KNOWN) ?? name}?`);
    }
  }
  return problems;
}
