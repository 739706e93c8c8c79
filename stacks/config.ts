/**
 * The environment contract: `enclii:*` stack config → one typed, validated `Environment`.
 * Pure (no Pulumi runtime): the program, the offline plan and the tests all call it.
 * Each key is parsed on its own and cross-field rules run over whatever parsed, so one run
 * reports every problem; each message starts with the key path it is about.
 */
import { LOCATIONS } from "../model/cost/catalog";
import { describeIssues } from "../model/config/issues";
import { APPS_NAMESPACE, FIRST_NODE_HOST } from "../model/names";
import { hostAddress } from "../model/net";
import { renderProblem } from "../model/problem";
import { validateRoutes } from "../model/routes";
import {
  checkNetwork,
  checkNodeCount,
  checkNodes,
  checkStorage,
  k3sSupportWarnings,
  largestNodeMemoryGi,
  secretKeysFor,
} from "../model/rules/environment";
import { adminCidrWarnings, checkAdminCidrs } from "../model/rules/adminCidrs";
import { checkData } from "../model/rules/data";
import { checkJoinVia } from "../model/rules/joinVia";
import { checkKeyNames } from "../model/config/keyNames";
import {
  EXTERNAL_URLS_KEY,
  NAMESPACE,
  PRODUCTION_STACK,
  REQUIRED,
  SIGNING_KEYS_KEY,
  keyPath,
  keySchemas,
  type Environment,
  type NodeEntry,
  type NodeSpec,
  type Parsed,
} from "../model/config/schema";
import { decode } from "../model/config/validators";
import { resolveServices, type AppService, type SpecFile } from "../model/config/services";
import {
  GRAFANA_SERVICE,
  OBSERVABILITY_KEY,
  PAGING_KEY,
  checkObservability,
  parsePaging,
  resolveObservability,
} from "../model/observability/config";
import { parseSigningKeys } from "../model/config/signingKeys";

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * `raw` is Pulumi's config map (`enclii:domain` → text, objects as JSON text); `secretKeys`
 * names the keys that were set as secrets; `specs` are the `dogfooding/` files.
 */
export function parseEnvironment(
  stack: string,
  raw: Record<string, string>,
  secretKeys: ReadonlySet<string>,
  specs: SpecFile[],
): Environment {
  const problems: string[] = checkKeyNames(Object.keys(raw));
  const parsed: Parsed = {};
  for (const name of Object.keys(keySchemas) as (keyof typeof keySchemas)[]) {
    const text = raw[`${NAMESPACE}:${name}`];
    if (text === undefined && REQUIRED.includes(name)) {
      problems.push(`${NAMESPACE}:${name}: is required`);
      continue;
    }
    // An absent optional key parses as `undefined`, which its schema turns into its defaults.
    const schema = keySchemas[name];
    const result = schema.safeParse(text === undefined ? undefined : decode(text), { reportInput: true });
    if (result.success) (parsed as Record<string, unknown>)[name] = result.data;
    else problems.push(...describeIssues(schema, result.error.issues, (path) => keyPath([name, ...path])));
  }
  const network = parsed.network;
  // Counted before expanding, so a pool of a billion servers is refused, not built.
  const tooMany = parsed.nodes ? checkNodeCount(parsed.nodes) : [];
  problems.push(...tooMany);
  const nodes = parsed.nodes && network && tooMany.length === 0 ? expandNodes(parsed.nodes, network.subnet) : [];
  for (const key of secretKeysFor(nodes, parsed.postgres?.mode, raw[`${NAMESPACE}:smtp`] !== undefined)) {
    if (raw[key] === undefined) problems.push(`${key}: is required (pulumi config set --secret ${key} …)`);
    else if (!secretKeys.has(key)) problems.push(`${key}: must be set as a secret (pulumi config set --secret ${key} …)`);
  }
  if (raw[PAGING_KEY] !== undefined) {
    if (!secretKeys.has(PAGING_KEY)) problems.push(`${PAGING_KEY}: must be set as a secret (pulumi config set --secret ${PAGING_KEY} …)`);
    else problems.push(...parsePaging(raw[PAGING_KEY]).problems);
  }
  if (parsed.observability) problems.push(...checkObservability(parsed.observability, raw[PAGING_KEY] !== undefined));
  // Messages name fields and sizes, never key material.
  if (raw[SIGNING_KEYS_KEY] !== undefined) problems.push(...parseSigningKeys(raw[SIGNING_KEYS_KEY], SIGNING_KEYS_KEY).problems);
  const localhostRedirects = parsed.janua?.localhostRedirects ?? stack !== PRODUCTION_STACK;
  if (localhostRedirects && stack === PRODUCTION_STACK)
    problems.push(`${NAMESPACE}:janua.localhostRedirects: localhost redirect URIs are not allowed in the ${PRODUCTION_STACK} stack`);
  const domain = parsed.domain ?? "domain.invalid";
  const resolved = resolveServices(specs, { domain, overrides: parsed.services ?? {} });
  problems.push(...resolved.problems);
  if (parsed.domain) problems.push(...checkServiceRoutes(resolved.services, parsed.domain));
  // Resolved before the checks, so Grafana's route is checked with the hostname the environment carries.
  const observability =
    parsed.observability && resolveObservability(parsed.observability, largestNodeMemoryGi(nodes), domain, raw[PAGING_KEY] !== undefined);
  const grafana = observability?.grafana;
  if (grafana && parsed.domain) {
    const { hostname } = grafana;
    const taken = resolved.services.find((s) => s.hostnames.includes(hostname));
    const key = `${OBSERVABILITY_KEY}.grafana.host`;
    if (taken) problems.push(`${key}: ${hostname} is already routed by ${taken.file}`);
    const route = { hostname, service: GRAFANA_SERVICE };
    problems.push(...validateRoutes([route], parsed.domain).map((p) => `${key}: ${renderProblem(p)}`));
  }
  problems.push(...checkData(parsed, nodes.length, raw[EXTERNAL_URLS_KEY]), ...checkStorage(parsed, nodes));
  if (network) {
    problems.push(
      ...checkNetwork(network),
      ...(parsed.nodes && nodes.length > 0
        ? checkNodes(parsed.nodes, nodes, network.subnet, raw[`${NAMESPACE}:sshPublicKey`] !== undefined)
        : []),
    );
  }
  problems.push(...checkAdminCidrs(parsed));
  problems.push(...checkJoinVia(parsed.k3s?.joinVia, nodes));
  if (problems.length > 0) throw new ConfigError(problems);

  // No problems: every required key parsed, and every optional one holds its value or its defaults.
  const c = parsed as Required<Parsed>;
  const zones = [...new Set(nodes.flatMap((n) => (n.kind === "cloud" ? [LOCATIONS[n.location]] : [])))];
  return {
    stack,
    domain: c.domain,
    cloudflare: c.cloudflare,
    r2: c.r2,
    tunnel: c.tunnel,
    customHostnames: c.customHostnames,
    adminCidrs: c.adminCidrs,
    network: { ...c.network, zone: zones[0], gateway: hostAddress(c.network.ipRange, 1) },
    nodes,
    k3s: c.k3s,
    maintenance: c.maintenance,
    rotations: c.rotations,
    protect: c.protect,
    budget: parsed.budget,
    prices: c.prices,
    usage: c.usage,
    adopt: c.adopt,
    otherCosts: c.otherCosts,
    sshPublicKey: parsed.sshPublicKey,
    postgres: c.postgres,
    redis: c.redis,
    services: resolved.services,
    janua: { signingKeyRotationDays: c.janua.signingKeyRotationDays, localhostRedirects },
    smtp: parsed.smtp,
    observability,
    warnings: [...adminCidrWarnings(c.adminCidrs), ...k3sSupportWarnings(c.k3s.version)],
  };
}

/** Routes of our services against the zone (and the reserved fallback origin), each problem naming its spec. */
function checkServiceRoutes(services: AppService[], domain: string): string[] {
  return services.flatMap((s) =>
    validateRoutes(
      s.hostnames.map((hostname) => ({ hostname, service: { namespace: APPS_NAMESPACE, name: s.name, port: s.port } })),
      domain,
    ).map((p) => `${s.file}: spec.routes: ${renderProblem(p)}`),
  );
}

/** Servers come first so the first server (etcd's `--cluster-init`) is stable. */
function expandNodes(entries: NodeEntry[], subnet: string): NodeSpec[] {
  let host = FIRST_NODE_HOST;
  const expanded = entries.flatMap((e): NodeSpec[] => {
    if (e.kind === "dedicated")
      return [{ kind: "dedicated", name: e.name, role: e.role, host: e.host, user: e.user, model: e.model, hostKey: e.hostKey }];
    return Array.from({ length: e.count }, (_, i) => ({
      kind: "cloud" as const,
      name: e.count === 1 ? e.name : `${e.name}-${i + 1}`,
      pool: e.name,
      role: e.role,
      serverType: e.serverType,
      location: e.locations[0],
      fallbacks: e.locations.slice(1),
      image: e.image,
      publicIpv4: e.publicIpv4,
      privateIp: hostAddress(subnet, host++),
    }));
  });
  return [...expanded.filter((n) => n.role === "server"), ...expanded.filter((n) => n.role === "agent")];
}
