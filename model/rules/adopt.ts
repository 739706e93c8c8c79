/**
 * Adopting what already runs (docs/runbooks/adoption.md):
 * `enclii:adopt` maps a resource's name in the plan to the provider's id of the existing object,
 * and the program registers that resource with Pulumi's `import` option, so the first `pulumi up`
 * takes it over instead of creating a second one (or failing on "already exists"). Pure: the
 * program and the planner share the table and the checks.
 */
import { didYouMean } from "../config/issues";
import { NAMESPACE } from "../config/schema";

export const ADOPT_KEY = `${NAMESPACE}:adopt`;

export interface Adoptable {
  /** The import id the provider expects, as its import documentation writes it. */
  id: string;
  pattern: RegExp;
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
  "cloudflare:index/dnsRecord:DnsRecord": { id: "<zone_id>/<dns_record_id>", pattern: exact(`${CF_ID}/${CF_ID}`) },
  "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": {
    id: "<account_id>/<tunnel_id>",
    pattern: exact(`${CF_ID}/${UUID}`),
    writeOnly: ["tunnelSecret"],
  },
  "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": {
    id: "<account_id>/<tunnel_id>",
    pattern: exact(`${CF_ID}/${UUID}`),
  },
  "cloudflare:index/r2Bucket:R2Bucket": {
    id: "<account_id>/<bucket_name>/<jurisdiction>",
    pattern: exact(`${CF_ID}/[a-z0-9][-a-z0-9]{1,62}/(default|eu|fedramp)`),
  },
  "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin": { id: "<zone_id>", pattern: exact(CF_ID) },
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

/** Every problem with `adopt` against what the plan registers: unknown names, types, id shapes. */
export function adoptProblems(adopt: Readonly<Record<string, string>>, registered: readonly { name: string; type: string }[]): string[] {
  const byName = new Map(registered.map((r) => [r.name, r.type]));
  const problems: string[] = [];
  for (const [name, id] of Object.entries(adopt).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const type = byName.get(name);
    const key = `${ADOPT_KEY}.${name}`;
    if (!type) {
      const hint = didYouMean(name, [...byName.keys()]);
      problems.push(`${key}: no resource of this stack is named ${name}${hint ? `; did you mean ${hint}?` : ""}`);
      continue;
    }
    const entry = ADOPTABLE[type];
    if (!entry) problems.push(`${key}: ${notAdoptable(type)}`);
    else if (!entry.pattern.test(id)) problems.push(`${key}: "${id}" is not a ${type} import id, which is ${entry.id}`);
  }
  return problems;
}
