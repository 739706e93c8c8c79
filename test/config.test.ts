/** The environment contract: what a stack file may say, and exactly what it is told when it is wrong. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requiredSecretKeys, secretPlaceholder } from "../automation/placeholders";
import { cidrContains, cidrsOverlap, hostAddress, isIpv4, parseCidr } from "../model/net";
import { coveredAddresses } from "../model/rules/adminCidrs";
import { k3sSupportWarnings } from "../model/rules/environment";
import { SIGNING_KEYS_KEY, type Environment } from "../model/config/schema";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT } from "./harness";

const SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEncliiTestKey ops@enclii";
/** Secrets that `pulumi config set --secret` would mark; anything else in raw is plain text. */
const SECRETS = [
  "enclii:sshPrivateKey",
  "hcloud:token",
  "cloudflare:apiToken",
  "enclii:externalDatabaseUrls",
  SIGNING_KEYS_KEY,
  "enclii:smtpPassword",
  "enclii:paging",
];
const SPECS = readSpecFiles(DOGFOODING_DIR);

const dedicated = (fields: Record<string, unknown> = {}) => ({
  name: "ax41-1",
  kind: "dedicated",
  host: "203.0.113.10",
  role: "server",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFbxtNDZMD1FYnkQR1/pusV4AeFRh8BQDXjgGPOnp2E",
  ...fields,
});
const cloud = (fields: Record<string, unknown> = {}) => ({
  name: "cp",
  kind: "cloud",
  serverType: "cx33",
  role: "server",
  ...fields,
});

/** What a cloud stack needs on top of the dedicated base; spread into overrides. */
const CLOUD_KEYS = { "hcloud:token": "hcloud-token", "enclii:sshPublicKey": SSH_PUBLIC_KEY };

type Overrides = Record<string, unknown>;

/**
 * Production-shaped config, as Pulumi hands it over: strings stay text, everything else is JSON
 * text. An override of `undefined` deletes the key; `plain` lists keys set without --secret.
 */
function stackConfig(overrides: Overrides = {}, plain: string[] = []): { raw: Record<string, string>; secretKeys: Set<string> } {
  const values: Overrides = {
    "enclii:domain": "enclii.io",
    "enclii:adminCidrs": ["198.51.100.7/32"],
    "enclii:nodes": [dedicated({ model: "AX41-NVMe" })],
    "enclii:k3s": { version: "v1.35.8+k3s1" },
    "enclii:cloudflare": { accountId: "0123456789abcdef0123456789abcdef", zoneId: "fedcba9876543210fedcba9876543210" },
    "enclii:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "cloudflare:apiToken": "cf-token",
    [SIGNING_KEYS_KEY]: secretPlaceholder(SIGNING_KEYS_KEY),
    ...overrides,
  };
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) raw[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const secretKeys = new Set(SECRETS.filter((k) => k in raw && !plain.includes(k)));
  return { raw, secretKeys };
}

function parse(overrides: Overrides = {}, plain: string[] = []): Environment {
  const { raw, secretKeys } = stackConfig(overrides, plain);
  return parseEnvironment("test", raw, secretKeys, SPECS);
}

function problemsOf(overrides: Overrides, plain: string[] = []): string[] {
  expect(() => parse(overrides, plain)).toThrow(ConfigError);
  try {
    parse(overrides, plain);
  } catch (err) {
    return (err as ConfigError).problems;
  }
  throw new Error("unreachable: parse threw above");
}

describe("parseEnvironment: valid configs", () => {
  it("parses the production layout (one dedicated host) and fills the defaults", () => {
    const env = parse({
      "enclii:cloudflare": { accountId: "0123456789abcdef0123456789abcdef", zoneId: "fedcba9876543210fedcba9876543210" },
      "enclii:budget": { monthlyUsd: 100 },
    });
    const { services, ...rest } = env;
    // The specs themselves are covered in services.test.ts.
    expect(services.map((x) => x.name)).toEqual(["docs-site", "janua", "landing-page", "status-page", "switchyard-api", "switchyard-ui"]);
    expect(rest).toEqual({
      stack: "test",
      domain: "enclii.io",
      cloudflare: { accountId: "0123456789abcdef0123456789abcdef", zoneId: "fedcba9876543210fedcba9876543210" },
      adminCidrs: ["198.51.100.7/32"],
      // No cloud node means no private network zone; the range and gateway still have defaults.
      network: { ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24", zone: undefined, gateway: "10.0.0.1" },
      nodes: [
        {
          kind: "dedicated",
          name: "ax41-1",
          role: "server",
          host: "203.0.113.10",
          user: "root",
          model: "AX41-NVMe",
          hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFbxtNDZMD1FYnkQR1/pusV4AeFRh8BQDXjgGPOnp2E",
        },
      ],
      k3s: { version: "v1.35.8+k3s1" },
      maintenance: { days: ["sun"], start: "03:00", end: "05:00", timeZone: "Europe/Berlin" },
      rotations: {},
      protect: true,
      budget: { monthlyUsd: 100 },
      prices: { monthlyEur: { cx33: 8.99, cpx22: 19.99, cpx32: 35.99, "AX41-NVMe": 46 }, primaryIpv4Eur: 0.5, eurToUsd: 1.088 },
      // Nothing stated: R2's free tier, nothing outside the model.
      usage: { r2StorageGb: 10, r2ClassAMillions: 1, r2ClassBMillions: 10 },
      otherCosts: [],
      adopt: {},
      sshPublicKey: undefined,
      postgres: { mode: "in-cluster", instances: 1, storageGi: 20, backupRetentionDays: 7, clusterName: "enclii-pg" },
      redis: { mode: "standalone", storageGi: 5 },
      r2: { jurisdiction: "default" },
      tunnel: { replicas: 2 },
      customHostnames: false,
      janua: { signingKeyRotationDays: 90, localhostRedirects: true },
      smtp: undefined,
      // On by default, at the full size on a 64 GiB AX41; Grafana unexposed, no paging.
      observability: {
        profile: "full",
        logs: true,
        traces: true,
        retentionDays: { metrics: 15, logs: 14, traces: 7 },
        storageGi: { metrics: 50, logs: 50, traces: 20 },
        grafana: undefined,
        paging: false,
      },
      warnings: [
        "enclii:adminCidrs[0]: 198.51.100.7/32 is in a documentation range (RFC 5737): only a VPN or a NAT inside it can reach SSH and the API from there; use the public address pulumi up runs from",
      ],
    });
  });

  it("parses the staging layout (one cloud cx33), created in nbg1 when the pool names no location", () => {
    const env = parse({ ...CLOUD_KEYS, "enclii:nodes": [cloud({ name: "staging" })], "enclii:protect": false });
    expect(env.nodes).toEqual([
      {
        kind: "cloud",
        name: "staging",
        pool: "staging",
        role: "server",
        serverType: "cx33",
        location: "nbg1",
        fallbacks: [],
        image: "ubuntu-24.04",
        publicIpv4: true,
        privateIp: "10.0.1.10",
      },
    ]);
    expect(env.network).toEqual({ ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24", zone: "eu-central", gateway: "10.0.0.1" });
    expect(env.protect).toBe(false);
    expect(env.sshPublicKey).toBe(SSH_PUBLIC_KEY);
  });

  it("parses the HA layout: a public gateway plus a pool of two private-only servers", () => {
    const env = parse({
      ...CLOUD_KEYS,
      "enclii:network": { ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24" },
      "enclii:nodes": [
        cloud({ name: "gateway", serverType: "cpx32" }),
        cloud({ name: "node", serverType: "cpx32", count: 2, publicIpv4: false }),
      ],
    });
    expect(env.nodes.map((n) => n.kind === "cloud" && [n.name, n.pool, n.privateIp, n.publicIpv4])).toEqual([
      ["gateway", "gateway", "10.0.1.10", true],
      ["node-1", "node", "10.0.1.11", false],
      ["node-2", "node", "10.0.1.12", false],
    ]);
    expect(env.network.zone).toBe("eu-central");
  });

  it("puts servers before agents while private IPs follow config order", () => {
    // etcd's --cluster-init goes to the first server, so it must not depend on where agents are listed.
    const env = parse({ ...CLOUD_KEYS, "enclii:nodes": [cloud({ name: "worker", role: "agent", count: 2 }), cloud({ name: "cp" })] });
    expect(env.nodes.map((n) => n.kind === "cloud" && [n.name, n.role, n.privateIp])).toEqual([
      ["cp", "server", "10.0.1.12"],
      ["worker-1", "agent", "10.0.1.10"],
      ["worker-2", "agent", "10.0.1.11"],
    ]);
  });

  it("assigns private IPs from a custom subnet and takes the gateway from the range", () => {
    const env = parse({
      ...CLOUD_KEYS,
      "enclii:network": { ipRange: "172.16.0.0/12", subnet: "172.16.5.0/24" },
      "enclii:nodes": [cloud()],
    });
    expect(env.network.gateway).toBe("172.16.0.1");
    expect(env.nodes[0]).toMatchObject({ privateIp: "172.16.5.10" });
  });

  it("fills a single network field's default when only the other is given", () => {
    expect(parse({ "enclii:network": { subnet: "10.0.2.0/24" } }).network).toMatchObject({ ipRange: "10.0.0.0/16", subnet: "10.0.2.0/24" });
  });

  it("accepts a type retired in the EU where Hetzner still sells it", () => {
    const env = parse({ ...CLOUD_KEYS, "enclii:nodes": [cloud({ serverType: "cpx31", locations: ["ash"] })] });
    expect(env.network.zone).toBe("us-east");
  });

  it("creates a pool's servers in its first location and keeps the rest, in order, as fallbacks", () => {
    const env = parse({ ...CLOUD_KEYS, "enclii:nodes": [cloud({ count: 3, locations: ["hel1", "nbg1", "fsn1"] })] });
    expect(env.nodes.map((n) => n.kind === "cloud" && [n.name, n.location, n.fallbacks])).toEqual([
      ["cp-1", "hel1", ["nbg1", "fsn1"]],
      ["cp-2", "hel1", ["nbg1", "fsn1"]],
      ["cp-3", "hel1", ["nbg1", "fsn1"]],
    ]);
    expect(env.network.zone).toBe("eu-central");
  });

  it("merges price overrides over the defaults instead of replacing them", () => {
    const env = parse({ "enclii:prices": { monthlyEur: { cpx32: 40, cx43: 17.49 }, eurToUsd: 1.1 } });
    expect(env.prices).toEqual({
      monthlyEur: { cx33: 8.99, cpx22: 19.99, cpx32: 40, "AX41-NVMe": 46, cx43: 17.49 },
      primaryIpv4Eur: 0.5,
      eurToUsd: 1.1,
    });
  });

  it("takes an internationalised domain in its ASCII form, its top-level domain too", () => {
    const env = parse({ "enclii:domain": "xn--bcher-kva.xn--p1ai" });
    expect(env.domain).toBe("xn--bcher-kva.xn--p1ai");
    expect(env.services.find((s) => s.name === "switchyard-api")?.hostnames).toEqual(["api.xn--bcher-kva.xn--p1ai"]);
  });

  it("holds enclii:domain to DNS's limits: labels of at most 63 characters, 253 in all", () => {
    const domainProblems = (domain: string) => {
      try {
        parse({ "enclii:domain": domain });
        return [];
      } catch (err) {
        // A domain this long leaves no room for the services' hostnames under it: those are the routes' problems.
        return (err as ConfigError).problems.filter((p) => p.startsWith("enclii:domain:"));
      }
    };
    const label = (n: number) => "a".repeat(n);
    expect(domainProblems(`${label(63)}.example`)).toEqual([]);
    expect(domainProblems(`${label(64)}.example`)).toEqual(["enclii:domain: must be a lowercase fully qualified domain name"]);
    expect(domainProblems([label(63), label(63), label(63), label(61)].join("."))).toEqual([]);
    expect(domainProblems([label(63), label(63), label(63), label(62)].join("."))).toEqual([
      "enclii:domain: must be a lowercase fully qualified domain name",
    ]);
  });

  it("holds every name the config takes to the same rule: the mail server, the external database, Grafana's email domains", () => {
    const problems = problemsOf({
      "enclii:smtp": { host: "xn--zz.example", username: "janua", from: "auth@enclii.io" },
      "enclii:smtpPassword": "password",
      "enclii:postgres": { mode: "external", host: "ab--c.db.internal" },
      "enclii:externalDatabaseUrls": "{}",
      "enclii:observability": { grafana: { teamName: "enclii", allowedEmailDomains: ["enclii.io", "Bücher.example"] } },
    }).filter((p) => /^enclii:(smtp|postgres|observability)\./.test(p));
    expect(problems).toEqual([
      'enclii:postgres.host: must not use a reserved label: "ab--c" has "--" in its third and fourth characters, which only IDNA\'s xn-- labels may (RFC 5891 §4.2.3.1)',
      'enclii:smtp.host: must be a valid internationalised name: label "xn--zz" is not valid Punycode',
      "enclii:observability.grafana.allowedEmailDomains[1]: must be a lowercase domain such as example.com: write it as xn--bcher-kva.example",
    ]);
  });

  it("takes a canary override as the deploy path writes it: the image alone, its replicas from the spec", () => {
    const image = "ghcr.io/madfam-io/switchyard-api:1.5.0";
    const env = parse({ "enclii:services": { "switchyard-api": { canary: { image } } } });
    const byName = Object.fromEntries(env.services.map((s) => [s.name, s]));
    expect(byName["switchyard-api"].canary).toEqual({ image, replicas: 1 });
    expect(byName.janua.canary).toBeUndefined();
  });

  it("ignores keys of other namespaces", () => {
    expect(() => parse({ "cloudflare:apiToken": "x", "aws:region": "eu-central-1" })).not.toThrow();
  });
});

interface InvalidCase {
  name: string;
  overrides: Overrides;
  plain?: string[];
  problems: string[];
}

const invalid: InvalidCase[] = [
  {
    name: "unknown server type",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ serverType: "cpx99" })] },
    problems: ['enclii:nodes[0].serverType: unknown server type "cpx99"'],
  },
  {
    name: "server type retired in EU locations",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ serverType: "cpx31", locations: ["nbg1", "hel1"] })] },
    problems: ['enclii:nodes[0].serverType: "cpx31" is no longer sold in EU locations (nbg1, hel1); use cpx32'],
  },
  {
    name: "unknown location",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ locations: ["nbg1", "fra1"] })] },
    problems: ['enclii:nodes[0].locations[1]: unknown location "fra1" (known: fsn1, nbg1, hel1, ash, hil, sin)'],
  },
  {
    name: "the single location key of before the preference list",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ location: "fsn1" })] },
    problems: [
      "enclii:nodes[0].location: replaced by `locations`, a preference list: write `locations: [fsn1]` (servers that exist keep their location)",
    ],
  },
  {
    name: "a location listed twice in a pool",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ locations: ["nbg1", "fsn1", "nbg1"] })] },
    problems: ["enclii:nodes[0].locations[2]: nbg1 repeats enclii:nodes[0].locations[0]: a fallback to the same location is no fallback"],
  },
  {
    name: "a fallback location outside the pool's network zone",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ locations: ["nbg1", "ash"] })] },
    problems: [
      "enclii:nodes[0].locations[1]: ash is in network zone us-east, not eu-central like the pool's first location nbg1; one private network covers one zone",
    ],
  },
  {
    name: "more locations than a network zone has",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ locations: ["nbg1", "fsn1", "hel1", "nbg1"] })] },
    problems: ["enclii:nodes[0].locations: must have at most 3 items"],
  },
  {
    name: "an empty list of locations",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ locations: [] })] },
    problems: ["enclii:nodes[0].locations: needs at least one location"],
  },
  {
    name: "unknown dedicated model",
    overrides: { "enclii:nodes": [dedicated({ model: "AX42" })] },
    problems: ['enclii:nodes[0].model: unknown dedicated model "AX42" (known: AX41-NVMe)'],
  },
  {
    name: "even number of servers",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ count: 2 })] },
    problems: ["enclii:nodes: 2 servers cannot keep etcd quorum when one fails; use an odd number (1, 3, 5)"],
  },
  {
    name: "no server role",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ role: "agent" })] },
    problems: ['enclii:nodes: needs at least one node with role "server"'],
  },
  {
    name: "duplicate node names after pool expansion",
    overrides: {
      ...CLOUD_KEYS,
      "enclii:nodes": [cloud(), cloud({ name: "node", role: "agent", count: 2 }), cloud({ name: "node-1", role: "agent" })],
    },
    problems: ['enclii:nodes: node name "node-1" is used 2 times'],
  },
  {
    name: "duplicate dedicated hosts",
    overrides: { "enclii:nodes": [dedicated(), dedicated({ name: "ax41-2", role: "agent" })] },
    problems: ["enclii:nodes: host 203.0.113.10 is listed more than once"],
  },
  {
    name: "cloud and dedicated nodes mixed",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [dedicated(), cloud({ name: "worker", role: "agent" })] },
    problems: ["enclii:nodes: cloud and dedicated nodes cannot share a cluster (no private network joins them)"],
  },
  {
    name: "locations in two network zones",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud(), cloud({ name: "worker", role: "agent", locations: ["ash"] })] },
    problems: ["enclii:nodes: locations span network zones eu-central, us-east; one private network covers one zone"],
  },
  {
    name: "first server without public IPv4",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud({ publicIpv4: false }), cloud({ name: "edge", count: 2 })] },
    problems: ["enclii:nodes: the first server (cp) needs publicIpv4: it is the API endpoint, SSH jump host and NAT gateway"],
  },
  {
    name: "subnet outside ipRange",
    overrides: { "enclii:network": { ipRange: "10.0.0.0/16", subnet: "10.1.1.0/24" } },
    problems: ["enclii:network.subnet: 10.1.1.0/24 is not inside ipRange 10.0.0.0/16"],
  },
  {
    name: "ipRange is k3s's pod CIDR",
    overrides: { "enclii:network": { ipRange: "10.42.0.0/16", subnet: "10.42.1.0/24" } },
    problems: ["enclii:network.ipRange: 10.42.0.0/16 overlaps k3s's pod CIDR 10.42.0.0/16"],
  },
  {
    name: "ipRange covering both k3s CIDRs",
    overrides: { "enclii:network": { ipRange: "10.0.0.0/8" } },
    problems: [
      "enclii:network.ipRange: 10.0.0.0/8 overlaps k3s's pod CIDR 10.42.0.0/16",
      "enclii:network.ipRange: 10.0.0.0/8 overlaps k3s's service CIDR 10.43.0.0/16",
    ],
  },
  {
    name: "subnet with no room for the nodes",
    // A /28 has 16 addresses and assignment starts at .10, so the 7th node would be 10.0.1.16.
    overrides: {
      ...CLOUD_KEYS,
      "enclii:network": { subnet: "10.0.1.0/28" },
      "enclii:nodes": [cloud(), cloud({ name: "worker", role: "agent", count: 9 })],
    },
    problems: ["enclii:network.subnet: 10.0.1.0/28 has no room for 10 nodes (addresses start at .10)"],
  },
  {
    name: "adminCidrs open to the world",
    overrides: { "enclii:adminCidrs": ["198.51.100.7/32", "0.0.0.0/0"] },
    problems: ["enclii:adminCidrs: together they admit every IPv4 address: SSH and the Kubernetes API would be open to the whole internet"],
  },
  {
    name: "adminCidrs entries that are not network CIDRs",
    overrides: { "enclii:adminCidrs": ["198.51.100.7/24", "198.51.100.7"] },
    problems: [
      "enclii:adminCidrs[0]: must be an IPv4 CIDR such as 198.51.100.7/32",
      "enclii:adminCidrs[1]: must be an IPv4 CIDR such as 198.51.100.7/32",
    ],
  },
  {
    name: "invalid network CIDR",
    overrides: { "enclii:network": { ipRange: "10.0.0.0/33" } },
    problems: ["enclii:network.ipRange: must be an IPv4 CIDR such as 198.51.100.7/32"],
  },
  {
    name: "empty adminCidrs",
    overrides: { "enclii:adminCidrs": [] },
    problems: ["enclii:adminCidrs: needs at least one CIDR"],
  },
  {
    name: "uppercase domain",
    overrides: { "enclii:domain": "Enclii.io" },
    problems: ["enclii:domain: must be a lowercase fully qualified domain name: write it as enclii.io"],
  },
  {
    name: "domain in Unicode, not its ASCII form",
    overrides: { "enclii:domain": "bücher.example" },
    problems: ["enclii:domain: must be a lowercase fully qualified domain name: write it as xn--bcher-kva.example"],
  },
  {
    name: "domain with an xn-- label that is not Punycode",
    overrides: { "enclii:domain": "xn--zz.example" },
    problems: ['enclii:domain: must be a valid internationalised name: label "xn--zz" is not valid Punycode'],
  },
  {
    name: "domain with an xn-- label that decodes to a control character",
    overrides: { "enclii:domain": "xn--a.example" },
    problems: [
      'enclii:domain: must be a valid internationalised name: label "xn--a" decodes to "\\u{80}", and IDNA does not allow U+0080 there',
    ],
  },
  {
    // xn--wca is the Punycode of "Ü": IDNA maps it to "ü", whose one ASCII form is xn--tda.
    name: "domain with an xn-- label that decodes to uppercase",
    overrides: { "enclii:domain": "xn--wca.example" },
    problems: ['enclii:domain: must be a valid internationalised name: label "xn--wca" decodes to "Ü", which IDNA writes as xn--tda'],
  },
  {
    // xn--a-dcp is the Punycode of "⒈a": U+2488 DIGIT ONE FULL STOP is disallowed in IDNA 2008.
    name: "domain with an xn-- label that decodes to a disallowed code point",
    overrides: { "enclii:domain": "xn--a-dcp.example" },
    problems: [
      'enclii:domain: must be a valid internationalised name: label "xn--a-dcp" decodes to "⒈a", and IDNA does not allow U+2488 there',
    ],
  },
  {
    name: "domain with a reserved label (-- in the third and fourth characters)",
    overrides: { "enclii:domain": "ab--c.example" },
    problems: [
      'enclii:domain: must not use a reserved label: "ab--c" has "--" in its third and fourth characters, which only IDNA\'s xn-- labels may (RFC 5891 §4.2.3.1)',
    ],
  },
  {
    name: "a left-to-right label beginning with a digit beside a right-to-left one (the Bidi rule)",
    overrides: { "enclii:domain": "1a.xn--mgbh0fb" },
    problems: [
      'enclii:domain: must be a valid internationalised name: label "1a" breaks the Bidi rule that every label of a name with a right-to-left label keeps (RFC 5893)',
    ],
  },
  {
    name: "an admin CIDR listed twice",
    overrides: { "enclii:adminCidrs": ["198.51.100.7/32", "203.0.113.0/24", "198.51.100.8/32", "198.51.100.7/32"] },
    problems: ["enclii:adminCidrs[3]: 198.51.100.7/32 repeats enclii:adminCidrs[0]"],
  },
  {
    name: "an admin CIDR listed twice beside an item of the wrong type: both said at once",
    overrides: { "enclii:adminCidrs": ["198.51.100.7/32", 32, "198.51.100.7/32"] },
    problems: [
      "enclii:adminCidrs[1]: must be text, not a whole number",
      "enclii:adminCidrs[2]: 198.51.100.7/32 repeats enclii:adminCidrs[0]",
    ],
  },
  {
    name: "a bill line listed twice, in another case and spacing",
    overrides: {
      "enclii:otherCosts": [
        { item: "Cloudflare Pro", monthlyUsd: 25 },
        { item: "domains", monthlyUsd: 3 },
        { item: "cloudflare  pro", monthlyUsd: 25 },
      ],
    },
    problems: ['enclii:otherCosts[2].item: "cloudflare  pro" repeats enclii:otherCosts[0].item: the bill would count it twice'],
  },
  {
    name: "domain without a TLD",
    overrides: { "enclii:domain": "enclii" },
    problems: ["enclii:domain: must be a lowercase fully qualified domain name"],
  },
  {
    name: "k3s version without patch and release",
    overrides: { "enclii:k3s": { version: "1.33" } },
    problems: ['enclii:k3s.version: must be a pinned k3s release such as "v1.33.4+k3s1"'],
  },
  {
    name: "k3s channel instead of a release",
    overrides: { "enclii:k3s": { version: "latest" } },
    problems: ['enclii:k3s.version: must be a pinned k3s release such as "v1.33.4+k3s1"'],
  },
  {
    name: "unknown top-level key",
    overrides: { "enclii:nodez": [] },
    problems: ["enclii:nodez: unknown config key; did you mean enclii:nodes?"],
  },
  {
    name: "misspelt field inside a node",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [{ name: "cp", kind: "cloud", serverTpye: "cx33", locations: ["fsn1"], role: "server" }] },
    problems: ["enclii:nodes[0].serverType: is required", 'enclii:nodes[0]: unknown field "serverTpye"; did you mean "serverType"?'],
  },
  {
    name: "unknown field inside an object key",
    overrides: { "enclii:k3s": { version: "v1.33.4+k3s1", channel: "stable" } },
    problems: ['enclii:k3s: unknown field "channel"'],
  },
  {
    name: "missing required keys",
    overrides: { "enclii:domain": undefined, "enclii:nodes": undefined, "enclii:k3s": undefined, "enclii:adminCidrs": undefined },
    problems: ["enclii:domain: is required", "enclii:adminCidrs: is required", "enclii:nodes: is required", "enclii:k3s: is required"],
  },
  {
    name: "Redis Sentinel on one node",
    overrides: { "enclii:redis": { mode: "sentinel" } },
    problems: ["enclii:redis.mode: sentinel needs 3 schedulable nodes for 3 Redis and 3 Sentinels (have 1)"],
  },
  {
    name: "more PostgreSQL instances than nodes",
    overrides: { "enclii:postgres": { mode: "in-cluster", instances: 3 } },
    problems: ["enclii:postgres.instances: 3 instances need as many nodes (have 1)"],
  },
  {
    name: "restore over the cluster itself",
    overrides: { "enclii:postgres": { mode: "in-cluster", restore: { fromCluster: "enclii-pg", targetTime: "2026-11-20T09:59:00Z" } } },
    problems: ['enclii:postgres.restore.fromCluster: restore into a new clusterName, not over "enclii-pg" itself'],
  },
  {
    name: "restore to a time that is not RFC 3339",
    overrides: {
      "enclii:postgres": { mode: "in-cluster", clusterName: "enclii-pg-2", restore: { fromCluster: "enclii-pg", targetTime: "yesterday" } },
    },
    problems: ["enclii:postgres.restore.targetTime: must be an RFC 3339 time such as 2026-11-20T09:59:00Z"],
  },
  {
    name: "external database URLs missing or malformed, without echoing them",
    overrides: {
      "enclii:postgres": { mode: "external", host: "db.example.net" },
      "enclii:externalDatabaseUrls": JSON.stringify({ enclii: "mysql://secret-user:secret-pw@h/e" }),
    },
    problems: [
      "enclii:externalDatabaseUrls.enclii: must be postgres://user:password@host:port/database",
      "enclii:externalDatabaseUrls.janua: is required (a postgres:// URL)",
    ],
  },
  {
    name: "one external user with two passwords",
    overrides: {
      "enclii:postgres": { mode: "external", host: "db.example.net" },
      "enclii:externalDatabaseUrls": JSON.stringify({
        enclii: "postgres://u:a@db.example.net:5432/e",
        janua: "postgres://u:b@db.example.net:5432/j",
      }),
    },
    problems: ['enclii:externalDatabaseUrls.janua: user "u" has a different password in another URL'],
  },
  {
    name: "external mode without its URLs",
    overrides: { "enclii:postgres": { mode: "external", host: "db.example.net" } },
    problems: ["enclii:externalDatabaseUrls: is required (pulumi config set --secret enclii:externalDatabaseUrls …)"],
  },
  {
    name: "tenants in the platform stack: they moved to shard stacks, and the message says where",
    overrides: { "enclii:tenants": [{ name: "acme", hostnames: ["shop.acme.com"], service: { name: "web", port: 8080 } }] },
    problems: [
      "enclii:tenants: tenants live in their shard stacks now (tenants/Pulumi.<environment>-NNN.yaml, key enclii-tenants:tenants); set enclii:customHostnames: true here (docs/tenants.md)",
    ],
  },
  {
    name: "customHostnames must be true or false",
    overrides: { "enclii:customHostnames": "yes" },
    problems: ["enclii:customHostnames: must be true or false, not text"],
  },
  {
    name: "service overrides: unpinned images and an unknown field",
    overrides: {
      "enclii:services": {
        "switchyard-api": { image: "ghcr.io/madfam-io/switchyard-api:latest" },
        janua: { image: "ghcr.io/madfam-io/janua", tag: "0.9.4" },
      },
    },
    problems: [
      'enclii:services.switchyard-api.image: "ghcr.io/madfam-io/switchyard-api:latest" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)',
      'enclii:services.janua.image: "ghcr.io/madfam-io/janua" has no tag; pin a version (name:1.2.3) or a digest (name@sha256:…)',
      'enclii:services.janua: unknown field "tag"',
    ],
  },
  {
    name: "canary overrides: an unpinned image, replicas out of range, no image, an unknown field",
    overrides: {
      "enclii:services": {
        "switchyard-api": { canary: { image: "ghcr.io/madfam-io/switchyard-api:latest", replicas: 6 } },
        "switchyard-ui": { canary: { image: "ghcr.io/madfam-io/switchyard-ui", replicas: 0 } },
        janua: { canary: { replicas: 2, tag: "0.9.4" } },
      },
    },
    problems: [
      'enclii:services.switchyard-api.canary.image: "ghcr.io/madfam-io/switchyard-api:latest" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)',
      "enclii:services.switchyard-api.canary.replicas: must be at most 5",
      'enclii:services.switchyard-ui.canary.image: "ghcr.io/madfam-io/switchyard-ui" has no tag; pin a version (name:1.2.3) or a digest (name@sha256:…)',
      "enclii:services.switchyard-ui.canary.replicas: must be at least 1",
      "enclii:services.janua.canary.image: is required",
      'enclii:services.janua.canary: unknown field "tag"',
    ],
  },
  {
    name: "service override naming no spec; replicas above the autoscaling maximum",
    overrides: { "enclii:services": { "switchyard-uii": { replicas: 2 }, "switchyard-api": { replicas: 9 } } },
    problems: [
      'enclii:services.switchyard-uii: no service spec named "switchyard-uii" in dogfooding/ (known: docs-site, janua, landing-page, status-page, switchyard-api, switchyard-ui)',
      "enclii:services.switchyard-api.replicas: 9 exceeds spec.autoscaling.maxReplicas 6 in dogfooding/switchyard-api.yaml",
    ],
  },
  {
    name: "signing keys missing, SMTP without its password",
    overrides: {
      [SIGNING_KEYS_KEY]: undefined,
      "enclii:smtp": { host: "smtp.sendgrid.net", username: "apikey", from: "no-reply@enclii.io" },
    },
    problems: [
      "enclii:januaSigningKeys: is required (pulumi config set --secret enclii:januaSigningKeys …)",
      "enclii:smtpPassword: is required (pulumi config set --secret enclii:smtpPassword …)",
    ],
  },
  {
    name: "signing keys set as plain text, SMTP sender that is not an address",
    overrides: { "enclii:smtp": { host: "smtp.sendgrid.net", username: "apikey", from: "Enclii" }, "enclii:smtpPassword": "SG.x" },
    plain: [SIGNING_KEYS_KEY],
    problems: [
      "enclii:smtp.from: must be an email address",
      "enclii:januaSigningKeys: must be set as a secret (pulumi config set --secret enclii:januaSigningKeys …)",
    ],
  },
  {
    name: "no Cloudflare account",
    overrides: { "enclii:cloudflare": undefined, "cloudflare:apiToken": undefined },
    problems: ["enclii:cloudflare: is required", "cloudflare:apiToken: is required (pulumi config set --secret cloudflare:apiToken …)"],
  },
  {
    name: "empty node list",
    overrides: { "enclii:nodes": [] },
    problems: ["enclii:nodes: needs at least one node"],
  },
  {
    name: "sshPrivateKey missing",
    overrides: { "enclii:sshPrivateKey": undefined },
    problems: ["enclii:sshPrivateKey: is required (pulumi config set --secret enclii:sshPrivateKey …)"],
  },
  {
    name: "sshPrivateKey set as plain text",
    overrides: {},
    plain: ["enclii:sshPrivateKey"],
    problems: ["enclii:sshPrivateKey: must be set as a secret (pulumi config set --secret enclii:sshPrivateKey …)"],
  },
  {
    name: "cloud nodes without hcloud:token",
    overrides: { ...CLOUD_KEYS, "hcloud:token": undefined, "enclii:nodes": [cloud()] },
    problems: ["hcloud:token: is required (pulumi config set --secret hcloud:token …)"],
  },
  {
    name: "hcloud:token set as plain text",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud()] },
    plain: ["hcloud:token"],
    problems: ["hcloud:token: must be set as a secret (pulumi config set --secret hcloud:token …)"],
  },
  {
    name: "cloud nodes without sshPublicKey",
    overrides: { ...CLOUD_KEYS, "enclii:sshPublicKey": undefined, "enclii:nodes": [cloud()] },
    problems: ["enclii:sshPublicKey: is required when cloud nodes are created (their root login key)"],
  },
  {
    name: "unknown node kind",
    overrides: { "enclii:nodes": [dedicated({ kind: "vm" })] },
    problems: ['enclii:nodes[0].kind: must be one of "cloud", "dedicated"'],
  },
  {
    name: "dedicated host that is not an IPv4 address",
    overrides: { "enclii:nodes": [dedicated({ host: "ax41.example.com" })] },
    problems: ["enclii:nodes[0].host: must be an IPv4 address"],
  },
  {
    name: "node name that is not a DNS label",
    overrides: { "enclii:nodes": [dedicated({ name: "AX41_1" })] },
    problems: ["enclii:nodes[0].name: must be a DNS label: lowercase letters, digits and '-', at most 52 characters"],
  },
  {
    name: "Cloudflare id that is not 32 hex characters",
    overrides: { "enclii:cloudflare": { accountId: "0123456789ABCDEF0123456789ABCDEF", zoneId: "fedcba9876543210fedcba9876543210" } },
    problems: ["enclii:cloudflare.accountId: must be a 32-character hex Cloudflare id"],
  },
  {
    name: "more than 100 cloud servers in one private network",
    overrides: { ...CLOUD_KEYS, "enclii:nodes": [cloud(), cloud({ name: "worker", role: "agent", count: 100 })] },
    problems: ["enclii:nodes: 101 nodes in all exceed Hetzner's 100 per private network"],
  },
];

describe("parseEnvironment: invalid configs", () => {
  it.each(invalid)("$name", ({ overrides, plain, problems }) => {
    expect(problemsOf(overrides, plain)).toEqual(problems);
  });

  it("reports every problem at once, each under its key path", () => {
    let error: unknown;
    try {
      parse({
        ...CLOUD_KEYS,
        "enclii:domain": "Enclii.io",
        "enclii:nodez": [],
        "enclii:nodes": [cloud({ serverType: "cpx99", count: 2 })],
        "enclii:k3s": { version: "latest" },
        "enclii:adminCidrs": ["0.0.0.0/0"],
        "enclii:sshPrivateKey": undefined,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = [
      "enclii:nodez: unknown config key; did you mean enclii:nodes?",
      "enclii:domain: must be a lowercase fully qualified domain name: write it as enclii.io",
      'enclii:k3s.version: must be a pinned k3s release such as "v1.33.4+k3s1"',
      "enclii:sshPrivateKey: is required (pulumi config set --secret enclii:sshPrivateKey …)",
      'enclii:nodes[0].serverType: unknown server type "cpx99"',
      "enclii:nodes: 2 servers cannot keep etcd quorum when one fails; use an odd number (1, 3, 5)",
      "enclii:adminCidrs: together they admit every IPv4 address: SSH and the Kubernetes API would be open to the whole internet",
    ];
    expect((error as ConfigError).problems).toEqual(problems);
    // The CLI prints only the message, so it must carry every problem too.
    expect((error as ConfigError).message).toBe(`invalid stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  });

  // Bug: the room check looks at the last node after servers are moved first, which is not the
  // highest address when agents are listed before servers; here c-6 and c-7 get 10.0.1.16 and
  // 10.0.1.17, outside the /28, and the config is accepted.
  it("finds no room in the subnet when agents are listed before servers", () => {
    const overrides = {
      ...CLOUD_KEYS,
      "enclii:network": { subnet: "10.0.1.0/28" },
      "enclii:nodes": [cloud({ name: "worker", role: "agent" }), cloud({ count: 7 })],
    };
    expect(problemsOf(overrides)).toEqual(["enclii:network.subnet: 10.0.1.0/28 has no room for 8 nodes (addresses start at .10)"]);
  });
});

describe("admin CIDRs: judged by the addresses they admit, however they are written", () => {
  const PROBLEM_PREFIX = "enclii:adminCidrs: together they admit";
  const permutations = <T>(xs: T[]): T[][] =>
    xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));

  it("counts the same addresses in any order: nested, overlapping and adjacent ranges once each", () => {
    // A /16 holding a /24; two adjacent /25s making one /24 with a /32 inside: 65,536 + 256.
    const cidrs = ["198.51.100.0/24", "198.51.0.0/16", "203.0.113.0/25", "203.0.113.128/25", "203.0.113.7/32"];
    const counts = new Set(permutations(cidrs).map(coveredAddresses));
    expect([...counts]).toEqual([65_536 + 256]);
    // Ranges that overlap without one holding the other: 10.0.0.0–10.0.1.255 and 10.0.1.0–10.0.2.255.
    expect(coveredAddresses(["10.0.0.0/23", "10.0.1.0/24", "10.0.2.0/24"])).toBe(768);
    // The very first address counts, and text that is no CIDR (refused elsewhere, with its index) counts nothing.
    expect(coveredAddresses(["0.0.0.0/32"])).toBe(1);
    expect(coveredAddresses(["0.0.0.0/32", "198.51.100.7", "not a cidr"])).toBe(1);
  });

  it("refuses the two halves of the internet listed high first, as surely as 0.0.0.0/0", () => {
    expect(problemsOf({ "enclii:adminCidrs": ["128.0.0.0/1", "0.0.0.0/1"] })).toEqual([
      `${PROBLEM_PREFIX} every IPv4 address: SSH and the Kubernetes API would be open to the whole internet`,
    ]);
  });

  it("admits one /16 in all, however it is split, and refuses one address more, counting overlaps once", () => {
    expect(() => parse({ "enclii:adminCidrs": ["198.51.100.7/32", "198.51.0.0/16", "198.51.128.0/17"] })).not.toThrow();
    expect(problemsOf({ "enclii:adminCidrs": ["198.51.100.0/24", "203.0.113.7/32", "198.51.0.0/16"] })).toEqual([
      `${PROBLEM_PREFIX} 65537 addresses; at most 65536 (one /16) may reach SSH and the Kubernetes API`,
    ]);
  });

  it("warns, by index, of every address an administrator's public address cannot be in", () => {
    const ranges: [string, string][] = [
      ["10.1.2.3/32", "a private range (RFC 1918)"],
      ["172.31.0.0/24", "a private range (RFC 1918)"],
      ["192.168.1.0/24", "a private range (RFC 1918)"],
      ["100.127.0.1/32", "the carrier-grade NAT range (RFC 6598)"],
      ["127.0.0.1/32", "the loopback range"],
      ["169.254.10.0/24", "the link-local range"],
      ["192.0.2.1/32", "a documentation range (RFC 5737)"],
      ["198.51.100.7/32", "a documentation range (RFC 5737)"],
      ["203.0.113.9/32", "a documentation range (RFC 5737)"],
      ["198.19.255.0/24", "the benchmarking range (RFC 2544)"],
    ];
    const warning = (i: number, cidr: string, what: string) =>
      `enclii:adminCidrs[${i}]: ${cidr} is in ${what}: only a VPN or a NAT inside it can reach SSH and the API from there; use the public address pulumi up runs from`;
    // A public address first: no warning of its own, and every index after it still counted.
    const env = parse({ "enclii:adminCidrs": ["5.9.10.11/32", ...ranges.map(([cidr]) => cidr)] });
    expect(env.warnings).toEqual(ranges.map(([cidr, what], i) => warning(i + 1, cidr, what)));
  });
});

describe("Janua's redirect rule", () => {
  const inStack = (stack: string, janua?: object) => {
    const { raw, secretKeys } = stackConfig(janua ? { "enclii:janua": janua } : {});
    return parseEnvironment(stack, raw, secretKeys, SPECS);
  };

  it("allows localhost redirect URIs by default outside production and never in it", () => {
    expect(inStack("staging").janua.localhostRedirects).toBe(true);
    expect(inStack("production").janua.localhostRedirects).toBe(false);
    expect(inStack("staging", { localhostRedirects: false }).janua.localhostRedirects).toBe(false);
    expect(() => inStack("production", { localhostRedirects: true })).toThrow(
      "enclii:janua.localhostRedirects: localhost redirect URIs are not allowed in the production stack",
    );
  });
});

describe("requiredSecretKeys", () => {
  it("needs the SSH key and the Cloudflare token for dedicated hosts", () => {
    expect(requiredSecretKeys(stackConfig().raw)).toEqual(["cloudflare:apiToken", "enclii:januaSigningKeys", "enclii:sshPrivateKey"]);
  });

  it("adds the Hetzner token as soon as one node is cloud", () => {
    expect(requiredSecretKeys(stackConfig({ "enclii:nodes": [dedicated(), cloud()] }).raw)).toEqual([
      "cloudflare:apiToken",
      "enclii:januaSigningKeys",
      "enclii:sshPrivateKey",
      "hcloud:token",
    ]);
  });

  it("adds the external database URLs in external mode", () => {
    expect(requiredSecretKeys(stackConfig({ "enclii:postgres": { mode: "external", host: "db.example.net" } }).raw)).toEqual([
      "cloudflare:apiToken",
      "enclii:externalDatabaseUrls",
      "enclii:januaSigningKeys",
      "enclii:sshPrivateKey",
    ]);
  });

  // The offline plan calls it before validation, so it must not throw on a config that is wrong.
  it.each([
    ["text that is not JSON", "[{not json"],
    ["an object instead of a list", JSON.stringify({ kind: "cloud" })],
    ["a list of non-objects", JSON.stringify([null, 5, "cloud"])],
  ])("tolerates nodes that are %s", (_, nodes) => {
    expect(requiredSecretKeys({ "enclii:nodes": nodes })).toEqual([
      "cloudflare:apiToken",
      "enclii:januaSigningKeys",
      "enclii:sshPrivateKey",
    ]);
  });

  it("tolerates a missing nodes key", () => {
    expect(requiredSecretKeys({})).toEqual(["cloudflare:apiToken", "enclii:januaSigningKeys", "enclii:sshPrivateKey"]);
  });
});

describe("net", () => {
  it.each(["0.0.0.0", "10.0.1.10", "255.255.255.255"])("isIpv4 accepts %s", (ip) => {
    expect(isIpv4(ip)).toBe(true);
  });

  it.each([
    "",
    "10.0.1",
    "10.0.1.1.1",
    "256.0.0.1",
    "010.0.0.1",
    "10.0.0.01",
    "1000.0.0.1",
    "10.0.0.-1",
    "a.b.c.d",
    " 10.0.0.1",
    "10.0.0.1/32",
  ])("isIpv4 rejects %j", (ip) => {
    expect(isIpv4(ip)).toBe(false);
  });

  it("parseCidr returns the network address as a number and the prefix", () => {
    expect(parseCidr("10.0.1.0/24")).toEqual({ base: 10 * 2 ** 24 + 1 * 2 ** 8, prefix: 24 });
    expect(parseCidr("0.0.0.0/0")).toEqual({ base: 0, prefix: 0 });
    expect(parseCidr("198.51.100.7/32")).toEqual({ base: 198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 2 ** 8 + 7, prefix: 32 });
    expect(parseCidr("255.255.255.255/32")).toEqual({ base: 2 ** 32 - 1, prefix: 32 });
  });

  it.each([
    "10.0.1.5/24",
    "1.2.3.0/0",
    "10.0.0.0/33",
    "10.0.0.0",
    "10.0.0.0/",
    "10.0.0.0/8/8",
    "10.0.0.0/x",
    "10.0.0/8",
    "010.0.0.0/8",
    "",
  ])("parseCidr rejects %j", (cidr) => {
    expect(parseCidr(cidr)).toBeUndefined();
  });

  it("cidrContains holds for nested and equal blocks, not the other way round", () => {
    expect(cidrContains("10.0.0.0/16", "10.0.1.0/24")).toBe(true);
    expect(cidrContains("10.0.1.0/24", "10.0.1.0/24")).toBe(true);
    expect(cidrContains("10.0.1.0/24", "10.0.0.0/16")).toBe(false);
    expect(cidrContains("0.0.0.0/0", "203.0.113.10/32")).toBe(true);
    expect(cidrContains("10.0.1.0/28", "10.0.1.15/32")).toBe(true);
    expect(cidrContains("10.0.1.0/28", "10.0.1.16/32")).toBe(false);
    expect(cidrContains("10.0.0.0/16", "10.1.0.0/24")).toBe(false);
  });

  it("cidrContains is false when either side is not a CIDR", () => {
    expect(cidrContains("10.0.0.0/16", "10.0.1.5/24")).toBe(false);
    expect(cidrContains("10.0.0.5/16", "10.0.1.0/24")).toBe(false);
  });

  it("hostAddress counts from the network address and carries into higher octets", () => {
    expect(hostAddress("10.0.1.0/24", 10)).toBe("10.0.1.10");
    expect(hostAddress("10.0.0.0/16", 1)).toBe("10.0.0.1");
    expect(hostAddress("10.0.0.0/16", 256 + 10)).toBe("10.0.1.10");
    expect(hostAddress("0.0.0.0/0", 2 ** 32 - 1)).toBe("255.255.255.255");
    // No bounds check by design: config validation reports an address that left its subnet.
    expect(hostAddress("10.0.1.0/28", 16)).toBe("10.0.1.16");
  });

  it("hostAddress refuses a non-network CIDR", () => {
    expect(() => hostAddress("10.0.1.5/24", 1)).toThrow("not a CIDR: 10.0.1.5/24");
  });

  it("cidrsOverlap is symmetric and false for disjoint or adjacent blocks", () => {
    expect(cidrsOverlap("10.0.0.0/8", "10.42.0.0/16")).toBe(true);
    expect(cidrsOverlap("10.42.0.0/16", "10.0.0.0/8")).toBe(true);
    expect(cidrsOverlap("10.42.0.0/16", "10.42.0.0/16")).toBe(true);
    expect(cidrsOverlap("10.0.0.0/16", "10.42.0.0/16")).toBe(false);
    expect(cidrsOverlap("10.0.0.0/24", "10.0.1.0/24")).toBe(false);
    expect(cidrsOverlap("0.0.0.0/0", "10.43.0.0/16")).toBe(true);
  });
});

describe("k3s support", () => {
  it("warns about a minor past its upstream end of life, as of the release table's date", () => {
    expect(k3sSupportWarnings("v1.33.4+k3s1")).toEqual([
      "enclii:k3s.version: k3s 1.33 left upstream support on 2026-06-28 (as of 2026-12-02); upgrade one minor at a time to a supported one (docs/runbooks/upgrades.md#upgrading-k3s)",
    ]);
    expect(k3sSupportWarnings("v1.34.11+k3s1")).toHaveLength(1);
    expect(k3sSupportWarnings("v1.35.8+k3s1")).toEqual([]);
  });

  it("the repository's stacks run a supported minor", () => {
    for (const file of ["Pulumi.production.yaml", "Pulumi.staging.yaml", "examples/Pulumi.ha.yaml", "examples/Pulumi.external.yaml"]) {
      const version = /version: (v\S+)/.exec(readFileSync(join(ROOT, file), "utf8"))![1];
      expect(k3sSupportWarnings(version), file).toEqual([]);
    }
  });
});

describe("enclii:observability and enclii:paging", () => {
  const PAGING = JSON.stringify({ pagerduty: { routingKey: "0123456789abcdef" } });

  it("picks the full set by the largest node's memory, not the nodes' sum", () => {
    const profile = (nodes: unknown[]) => parse({ ...CLOUD_KEYS, "enclii:nodes": nodes, "enclii:protect": false }).observability?.profile;
    expect(profile([cloud()])).toBe("lean");
    // Four 8 GiB servers are 32 GiB in all, but Prometheus still lands on one of them.
    expect(profile([cloud(), cloud({ name: "worker", role: "agent", count: 3 })])).toBe("lean");
    expect(profile([cloud({ serverType: "cx53" })])).toBe("full");
    expect(parse().observability?.profile).toBe("full");
  });

  it("takes the lean sizes, per-piece switches and overrides, and turns off entirely", () => {
    const o = parse({ "enclii:observability": { profile: "lean", traces: false, retentionDays: { metrics: 30 } } }).observability;
    expect(o).toMatchObject({
      profile: "lean",
      logs: true,
      traces: false,
      retentionDays: { metrics: 30, logs: 3 },
      storageGi: { metrics: 10 },
    });
    expect(parse({ "enclii:observability": { enabled: false } }).observability).toBeUndefined();
    expect(parse({ "enclii:paging": PAGING }).observability?.paging).toBe(true);
  });

  it("names every problem with its key, all at once", () => {
    expect(
      problemsOf(
        {
          "enclii:observability": { profile: "tiny", grafana: { teamName: "enclii", allowedEmails: ["ops"] }, retentionDays: { logs: 0 } },
          "enclii:paging": PAGING,
        },
        ["enclii:paging"],
      ),
    ).toEqual([
      'enclii:observability.profile: must be one of "full", "lean"',
      "enclii:observability.retentionDays.logs: must be at least 1",
      "enclii:observability.grafana.allowedEmails[0]: must be an email address",
      "enclii:paging: must be set as a secret (pulumi config set --secret enclii:paging …)",
    ]);
    expect(problemsOf({ "enclii:observability": { grafana: { teamName: "enclii" } } })).toEqual([
      "enclii:observability.grafana: needs allowedEmails or allowedEmailDomains (who Cloudflare Access lets in); leave grafana out to keep it unexposed",
    ]);
    expect(
      problemsOf({
        "enclii:observability": { enabled: false, grafana: { teamName: "enclii", allowedEmailDomains: ["enclii.io"] } },
        "enclii:paging": PAGING,
      }),
    ).toEqual([
      "enclii:observability.grafana: Grafana is exposed but observability is off (enabled: false)",
      "enclii:paging: paging is set but observability is off (enclii:observability.enabled: false)",
    ]);
    expect(problemsOf({ "enclii:paging": JSON.stringify({ opsgenie: { apiKey: "x" } }) })).toEqual([
      "enclii:paging.opsgenie.apiKey: must be at least 8 characters long",
    ]);
  });

  it("refuses a Grafana hostname a service already routes", () => {
    expect(
      problemsOf({ "enclii:observability": { grafana: { teamName: "enclii", host: "status", allowedEmails: ["ops@enclii.io"] } } }),
    ).toEqual(["enclii:observability.grafana.host: status.enclii.io is already routed by dogfooding/status-page.yaml"]);
  });

  it("names observability's volumes when they are what no longer fits the disks", () => {
    const small = { "enclii:nodes": [cloud()], ...CLOUD_KEYS };
    expect(problemsOf({ ...small, "enclii:observability": { storageGi: { metrics: 40 } } })).toEqual([
      "enclii:observability.storageGi: the volumes need 76 GiB of disk (PostgreSQL 20 GiB + Redis 5 GiB + observability 51 GiB, kept 1×), the nodes have 60 GiB usable (75% of 80 GiB)",
    ]);
  });
});
