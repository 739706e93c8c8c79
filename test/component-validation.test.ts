/**
 * Components check their arguments before registering anything: a refused Platform or
 * K3sCluster leaves no resource behind, and says exactly what was missing.
 */
import type * as pulumiNs from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { secretPlaceholder } from "../automation/placeholders";
import type { PlatformArgs } from "../components/platform/Platform";
import { maintenanceSchema } from "../model/config/maintenance";
import { EXTERNAL_URLS_KEY, SIGNING_KEYS_KEY, type Environment } from "../model/config/schema";
import { parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { recordResources, settled, type Registered } from "./harness";

let all: Registered[];
let pulumi: typeof pulumiNs;
let platform: typeof import("../components/platform/Platform");
let k3s: typeof import("../components/k3s/K3sCluster");

const HA_NODES = [{ name: "node", kind: "cloud", serverType: "cpx32", locations: ["nbg1"], count: 3, role: "server" }];

function environment(extra: Record<string, unknown>): Environment {
  const raw: Record<string, string> = {
    "enclii:domain": "enclii.dev",
    "enclii:cloudflare": JSON.stringify({ accountId: "0".repeat(32), zoneId: "1".repeat(32) }),
    "enclii:adminCidrs": JSON.stringify(["198.51.100.7/32"]),
    "enclii:nodes": JSON.stringify([
      {
        name: "ax41-1",
        kind: "dedicated",
        host: "203.0.113.10",
        role: "server",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFbxtNDZMD1FYnkQR1/pusV4AeFRh8BQDXjgGPOnp2E",
      },
    ]),
    "enclii:k3s": JSON.stringify({ version: "v1.33.4+k3s1" }),
    "enclii:sshPrivateKey": "key",
    [SIGNING_KEYS_KEY]: secretPlaceholder(SIGNING_KEYS_KEY),
    "cloudflare:apiToken": "token",
  };
  for (const [k, v] of Object.entries(extra)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  return parseEnvironment(
    "staging",
    raw,
    new Set(Object.keys(raw).filter((k) => /Key|Token|Urls|Password|token/.test(k))),
    readSpecFiles(DOGFOODING_DIR),
  );
}

function args(env: Environment, extra: Partial<PlatformArgs> = {}): PlatformArgs {
  return {
    env,
    sshPrivateKey: pulumi.secret("key"),
    cloudflareProvider: undefined as never,
    januaSigningKeys: pulumi.secret(secretPlaceholder(SIGNING_KEYS_KEY)),
    ...extra,
  };
}

beforeAll(async () => {
  all = await recordResources();
  pulumi = await import("@pulumi/pulumi");
  platform = await import("../components/platform/Platform");
  k3s = await import("../components/k3s/K3sCluster");
});

describe("validatePlatformArgs", () => {
  it("accepts a complete set", () => {
    expect(platform.validatePlatformArgs(args(environment({})))).toEqual([]);
  });

  it("names every missing provider or secret at once", () => {
    const env = environment({
      "enclii:nodes": HA_NODES,
      "enclii:sshPublicKey": "ssh-ed25519 AAAA ops",
      "hcloud:token": "t",
      "enclii:postgres": { mode: "external", host: "db.example.net" },
      [EXTERNAL_URLS_KEY]: secretPlaceholder(EXTERNAL_URLS_KEY, { "enclii:postgres": JSON.stringify({ host: "db.example.net" }) }),
      "enclii:smtp": { host: "smtp.example.net", username: "apikey", from: "no-reply@enclii.dev" },
      "enclii:smtpPassword": "pw",
      "enclii:redis": { mode: "sentinel" },
    });
    expect(platform.validatePlatformArgs(args(env))).toEqual([
      "cloud nodes need an hcloud provider and enclii:sshPublicKey",
      "external PostgreSQL needs enclii:externalDatabaseUrls",
      "enclii:smtp needs enclii:smtpPassword",
    ]);
  });
});

describe("refusals register nothing", () => {
  it("Platform throws before registering itself or any child", async () => {
    const env = environment({ "enclii:nodes": HA_NODES, "enclii:sshPublicKey": "ssh-ed25519 AAAA ops", "hcloud:token": "t" });
    expect(() => new platform.Platform("refused", args(env))).toThrow(
      "refused: cloud nodes need an hcloud provider and enclii:sshPublicKey",
    );
    await settled();
    expect(all.filter((r) => r.name.startsWith("refused"))).toEqual([]);
  });

  it("K3sCluster throws before registering when the first node has no public address", async () => {
    const etcdSnapshots = { bucket: "b", folder: "etcd", endpoint: "https://r2.example", accessKeyId: "k", secretAccessKey: "s" };
    const node = {
      name: "n1",
      role: "server" as const,
      nodeIp: "10.0.1.10",
      connection: { host: "10.0.1.10", hostKey: "ssh-ed25519 AAAA" },
      network: "private" as const,
    };
    expect(
      () =>
        new k3s.K3sCluster("nopublic", {
          nodes: [{ ...node, hostFirewall: false, ready: [] }],
          version: "v1.33.4+k3s1",
          adminCidrs: [],
          etcdSnapshots,
          maintenance: maintenanceSchema.parse(undefined),
        }),
    ).toThrow("nopublic: the first node must have a public address for the Kubernetes API");
    await settled();
    expect(all.filter((r) => r.name.startsWith("nopublic"))).toEqual([]);
  });
});
