/**
 * What the offline plan puts where a real update reads a secret: the secrets a config needs, and
 * stand-ins of the right shape for those the stack file does not hold in plain text.
 */
import { PAGING_KEY } from "../model/observability/config";
import { DATABASES, PORTS } from "../model/names";
import { secretKeysFor } from "../model/rules/environment";
import { EXTERNAL_URLS_KEY, NAMESPACE, SIGNING_KEYS_KEY } from "../model/config/schema";
import { decode } from "../model/config/validators";
import placeholderSigningKeys from "./placeholders/janua-signing-keys.json";

/**
 * A stand-in for a secret the offline plan cannot read: the secret's shape, with `fill` as the
 * secret value (the password, for the database URL map, whose URLs point at the configured server).
 */
export function secretPlaceholder(key: string, config: Record<string, string> = {}, fill = `placeholder-for-${key}`): string {
  if (key === EXTERNAL_URLS_KEY) {
    const password = encodeURIComponent(fill);
    const pg = decode(config[`${NAMESPACE}:postgres`] ?? "{}") as { host?: unknown; port?: unknown } | null;
    const server = `${typeof pg?.host === "string" ? pg.host : "placeholder.invalid"}:${typeof pg?.port === "number" ? pg.port : PORTS.postgres}`;
    return JSON.stringify(Object.fromEntries(DATABASES.map((db) => [db, `postgres://placeholder_${db}:${password}@${server}/${db}`])));
  }
  // Paging's placeholder is a well-formed PagerDuty key, so the plan renders the receivers a real one would.
  if (key === PAGING_KEY) return JSON.stringify({ pagerduty: { routingKey: fill } });
  // A fixed key keeps offline plans byte-identical; a real stack must set its own (`npm run keys -- rotate`).
  if (key === SIGNING_KEYS_KEY) return JSON.stringify(placeholderSigningKeys);
  return fill;
}

/**
 * Secrets a real `pulumi up` of this config reads. Looks only at node kinds, so the offline plan
 * can fill placeholders before the full validation runs.
 */
export function requiredSecretKeys(raw: Record<string, string>): string[] {
  const nodes = decode(raw[`${NAMESPACE}:nodes`] ?? "[]");
  const postgres = decode(raw[`${NAMESPACE}:postgres`] ?? "{}") as { mode?: unknown } | null;
  return secretKeysFor(Array.isArray(nodes) ? nodes : [], postgres?.mode, raw[`${NAMESPACE}:smtp`] !== undefined);
}
