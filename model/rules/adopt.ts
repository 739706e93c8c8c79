/**
 * Adopting what already runs (docs/runbooks/adoption.md):
 * `enclii:adopt` maps a resource's name in the plan to the provider's id of the existing object,
 * and the program registers that resource with Pulumi's `import` option, so the first `pulumi up`
 * takes it over instead of creating a second one (or failing on "already exists"). Pure: the
 * program and the planner share the table and the checks.
 */
import { didYouMean } from "../config/issues";
import { NAMESPACE, type Environment } from "../config/schema";

export const ADOPT_KEY = `${NAMESPACE}:adopt`;

/**
 * What a segment of an import id names, where the stack knows what it must be: the stack's own
 * zone or account, the stack's R2 jurisdiction, or the bucket name the plan gives the resource
 * (its `name` input).
 */
export type IdPart = "zone" | "account" | "jurisdiction" | "bucket";

export interface Adoptable {
  /** The import id the provider expects, as its import documentation writes it. */
  id: string;
  pattern: RegExp;
  /**
   * What the id's `/`-separated segments name, in order, up to the last one the stack can check
   * (`undefined` for a segment only the provider knows, such as the object's own id). An object
   * under another zone or account is refused here, naming the key, before any preview: the import
   * would otherwise fail there on the stack's own zone or account in the inputs, or find nothing
   * with the stack's token.
   */
  parts?: readonly (IdPart | undefined)[];
  /**
   * Inputs the provider's API never returns (write-only secrets): after an import they would
   * always differ, and Pulumi refuses an import whose inputs differ, so they are ignored then.
   */
  writeOnly?: string[];
}

const CF_ID = "[0-9a-f]{32}";
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const NUMBER = "[0-9]+";
const K8S_NAME = "[a-z0-9]([-a-z0-9.]*[a-z0-9])?";
const exact = (re: string) => new RegExp(`^${re}$`);

/**
 * Sources: terraform-provider-cloudflare docs/resources/*.md and terraform-provider-hcloud
 * docs/resources/*.md, "Import" (the commits model/replacements.ts names); pulumi-kubernetes:
 * a Helm release is `<namespace>/<name>`.
 */
export const ADOPTABLE: Record<string, Adoptable> = {
  "cloudflare:index/dnsRecord:DnsRecord": { id: "<zone_id>/<dns_record_id>", pattern: exact(`${CF_ID}/${CF_ID}`), parts: ["zone"] },
  "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": {
    id: "<account_id>/<tunnel_id>",
    pattern: exact(`${CF_ID}/${UUID}`),
    parts: ["account"],
    writeOnly: ["tunnelSecret"],
  },
  "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": {
    id: "<account_id>/<tunnel_id>",
    pattern: exact(`${CF_ID}/${UUID}`),
    parts: ["account"],
  },
  "cloudflare:index/r2Bucket:R2Bucket": {
    id: "<account_id>/<bucket_name>/<jurisdiction>",
    pattern: exact(`${CF_ID}/[a-z0-9][-a-z0-9]{1,62}/(default|eu|fedramp)`),
    parts: ["account", "bucket", "jurisdiction"],
  },
  "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin": {
    id: "<zone_id>",
    pattern: exact(CF_ID),
    parts: ["zone"],
  },
  // Hetzner's ids are bare numbers: the project an object lives in is not part of its id (the
  // stack's API token picks the project), so nothing here can check it. An id from another project
  // is not found with the stack's token, and the preview's import fails on it instead.
  "hcloud:index/sshKey:SshKey": { id: "<ssh_key_id>", pattern: exact(NUMBER) },
  "hcloud:index/server:Server": { id: "<server_id>", pattern: exact(NUMBER) },
  "hcloud:index/network:Network": { id: "<network_id>", pattern: exact(NUMBER) },
  "hcloud:index/networkSubnet:NetworkSubnet": { id: "<network_id>-<ip_range>", pattern: exact(`${NUMBER}-[0-9.]+/[0-9]+`) },
  "hcloud:index/firewall:Firewall": { id: "<firewall_id>", pattern: exact(NUMBER) },
  "hcloud:index/placementGroup:PlacementGroup": { id: "<placement_group_id>", pattern: exact(NUMBER) },
  "kubernetes:helm.sh/v3:Release": { id: "<namespace>/<release_name>", pattern: exact(`${K8S_NAME}/${K8S_NAME}`) },
};

/** Why a type is not in the table, when it is a type people would try. */
function notAdoptable(type: string): string {
  if (type.startsWith("kubernetes:") && type !== "kubernetes:helm.sh/v3:Release")
    return "Kubernetes objects need no entry: the provider applies server-side, so an object that exists is taken over by the first update";
  if (type.startsWith("enclii:") || type.startsWith("pulumi:"))
    return "a component or provider is not a cloud object; name its resources instead";
  if (type.startsWith("random:"))
    return "random values are generated, not adopted; a Secret made from one keeps its value through the Kubernetes object";
  return `${type} has no entry in ADOPTABLE (model/rules/adopt.ts)`;
}

/** What adopted ids are checked against: the stack's own Cloudflare account and zone, and its R2 jurisdiction. */
export type AdoptScope = Pick<Environment, "cloudflare" | "r2">;

/** A resource the plan registers; `inputs` as the program passes them, plain values or not. */
export interface Registered {
  name: string;
  type: string;
  inputs?: Readonly<Record<string, unknown>>;
}

const ZONE_KEY = `${NAMESPACE}:cloudflare.zoneId`;
const ACCOUNT_KEY = `${NAMESPACE}:cloudflare.accountId`;
const JURISDICTION_KEY = `${NAMESPACE}:r2.jurisdiction`;

/** The problem with one segment of an id (its `part`), if the stack knows what it must be and it is not. */
function partProblem(part: IdPart, value: string, stack: AdoptScope, inputs: Registered["inputs"]): string | undefined {
  switch (part) {
    case "zone":
      return value === stack.cloudflare.zoneId
        ? undefined
        : `the id's zone ${value} is not this stack's zone (${ZONE_KEY} ${stack.cloudflare.zoneId}); adopt only what lives in this stack's zone`;
    case "account":
      return value === stack.cloudflare.accountId
        ? undefined
        : `the id's account ${value} is not this stack's account (${ACCOUNT_KEY} ${stack.cloudflare.accountId}); adopt only what lives in this stack's account`;
    case "jurisdiction":
      return value === stack.r2.jurisdiction
        ? undefined
        : `the id's jurisdiction ${value} is not this stack's jurisdiction (${JURISDICTION_KEY} ${stack.r2.jurisdiction}); a bucket's jurisdiction is fixed at creation, so adopt a bucket in ${stack.r2.jurisdiction} or set ${JURISDICTION_KEY} to ${value}`;
    case "bucket": {
      // Checked when the plan names the bucket with a plain string; an Output is known only to an update.
      const planned = inputs?.name;
      return typeof planned !== "string" || value === planned
        ? undefined
        : `the id's bucket ${value} is not the bucket the plan registers under this name (${planned}); an R2 bucket cannot be renamed, so adopt only the bucket named ${planned}`;
    }
  }
}

/**
 * Every problem with `adopt` against what the plan registers and the stack it is adopted into:
 * unknown names, types, id shapes, and ids under another zone, account, jurisdiction or bucket name.
 */
export function adoptProblems(adopt: Readonly<Record<string, string>>, registered: readonly Registered[], stack: AdoptScope): string[] {
  const byName = new Map(registered.map((r) => [r.name, r]));
  const problems: string[] = [];
  for (const [name, id] of Object.entries(adopt).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const resource = byName.get(name);
    const key = `${ADOPT_KEY}.${name}`;
    if (!resource) {
      const hint = didYouMean(name, [...byName.keys()]);
      problems.push(`${key}: no resource of this stack is named ${name}${hint ? `; did you mean ${hint}?` : ""}`);
      continue;
    }
    const { type, inputs } = resource;
    const entry = ADOPTABLE[type];
    if (!entry) problems.push(`${key}: ${notAdoptable(type)}`);
    else if (!entry.pattern.test(id)) problems.push(`${key}: "${id}" is not a ${type} import id, which is ${entry.id}`);
    else {
      const segments = id.split("/");
      for (const [i, part] of (entry.parts ?? []).entries()) {
        const problem = part && partProblem(part, segments[i], stack, inputs);
        if (problem) problems.push(`${key}: ${problem}`);
      }
    }
  }
  return problems;
}
