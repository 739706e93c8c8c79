/**
 * `enclii:k3s.joinVia`: the config rule (exact messages, reported with every other problem before
 * anything is registered) and what the program registers with it: the first server joins through
 * the survivor after a command there forgets its lost etcd member, in that order.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runPlan, type PlanResource } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { FORGET_SUFFIX, renderForgetScript } from "../components/k3s/rejoin";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { maintenanceSchema } from "../model/config/maintenance";
import { ROOT, one, recordResources, requireTool, settled, shellcheck, type Registered } from "./harness";

const SPECS = readSpecFiles(DOGFOODING_DIR);
const HA = "examples/Pulumi.ha.yaml";
const K3S = { version: "v1.35.8+k3s1" };

/** A repository stack file with `enclii:k3s` (and any other key) overridden, as Pulumi hands it over. */
function stack(file: string, overrides: Record<string, unknown>) {
  const cfg = loadStackConfig(join(ROOT, file));
  for (const [key, value] of Object.entries(overrides)) cfg.config[key] = JSON.stringify(value);
  return cfg;
}

function problems(file: string, overrides: Record<string, unknown>): string[] {
  const cfg = stack(file, overrides);
  try {
    parseEnvironment("ha", cfg.config, new Set(cfg.secretKeys), SPECS);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("enclii:k3s.joinVia, the config rule", () => {
  it("accepts a surviving server of the stack", () => {
    expect(problems(HA, { "enclii:k3s": { ...K3S, joinVia: "node-2" } })).toEqual([]);
  });

  it("refuses the first server, a name the stack does not have and an agent, naming the survivors", () => {
    expect(problems(HA, { "enclii:k3s": { ...K3S, joinVia: "gateway" } })).toEqual([
      'enclii:k3s.joinVia: "gateway" is the first server, the one that joins; name a surviving server: node-1, node-2',
    ]);
    expect(problems(HA, { "enclii:k3s": { ...K3S, joinVia: "node-3" } })).toEqual([
      'enclii:k3s.joinVia: "node-3" is not a server of this stack; name a surviving server: node-1, node-2',
    ]);
    const withAgent = stack(HA, {}).config["enclii:nodes"];
    const agent = { name: "worker", kind: "cloud", serverType: "cpx32", locations: ["nbg1"], role: "agent", publicIpv4: false };
    expect(problems(HA, { "enclii:nodes": [...JSON.parse(withAgent), agent], "enclii:k3s": { ...K3S, joinVia: "worker" } })).toEqual([
      'enclii:k3s.joinVia: "worker" is not a server of this stack; name a surviving server: node-1, node-2',
    ]);
  });

  it("refuses it in a cluster with one server, pointing to the single node's runbook", () => {
    expect(problems("Pulumi.staging.yaml", { "enclii:k3s": { ...K3S, joinVia: "node-1" } })).toEqual([
      "enclii:k3s.joinVia: a cluster with one server has no surviving etcd member to join; rebuild it as in docs/runbooks/lost-node.md#rebuilding-a-lost-single-node",
    ]);
  });

  it("is reported with the other problems, and the plan stops before registering anything", async () => {
    const bad = { "enclii:k3s": { ...K3S, joinVia: "gateway" }, "enclii:adminCidrs": ["not-a-cidr"] };
    const found = problems(HA, bad);
    expect(found).toHaveLength(2);
    expect(found).toContain(
      'enclii:k3s.joinVia: "gateway" is the first server, the one that joins; name a surviving server: node-1, node-2',
    );
    expect(found.some((p) => p.startsWith("enclii:adminCidrs[0]:"))).toBe(true);
    const planned = runPlan("ha", stack(HA, bad));
    await expect(planned).rejects.toThrow(ConfigError);
  });

  it("is a DNS label, refused by the schema otherwise", () => {
    expect(problems(HA, { "enclii:k3s": { ...K3S, joinVia: "Node_1" } })).toEqual([
      "enclii:k3s.joinVia: must be a DNS label: lowercase letters, digits and '-', at most 52 characters",
    ]);
  });
});

const byName = (resources: PlanResource[], name: string) => {
  const found = resources.find((r) => r.name === name);
  if (!found) throw new Error(`${name} is not registered`);
  return found;
};

describe("the HA example with joinVia: node-1", () => {
  let rejoining: PlanResource[];
  let plain: PlanResource[];
  beforeAll(async () => {
    rejoining = (await runPlan("ha", stack(HA, { "enclii:k3s": { ...K3S, joinVia: "node-1" } }))).resources;
    plain = (await runPlan("ha", stack(HA, {}))).resources;
  });

  it("joins the first server through node-1, without cluster-init", () => {
    const config = (resources: PlanResource[]) =>
      parse(/<<'K3S'\n([\s\S]*?)\nK3S/.exec(String(byName(resources, "enclii-k3s-gateway-bootstrap").inputs.create))![1]);
    expect(config(rejoining)).toMatchObject({ server: "https://10.0.1.11:6443" });
    expect(config(rejoining)["cluster-init"]).toBeUndefined();
    expect(config(plain)).toMatchObject({ "cluster-init": true });
    expect(config(plain).server).toBeUndefined();
    // The others keep joining the first server's address, which the new server keeps.
    const other = String(byName(rejoining, "enclii-k3s-node-2-bootstrap").inputs.create);
    expect(other).toContain("server: https://10.0.1.10:6443");
  });

  it("forgets the lost member on node-1, through the new jump host, with the script for the gateway's address", () => {
    const forget = byName(rejoining, `enclii-k3s-gateway${FORGET_SUFFIX}`);
    expect(forget.type).toBe("command:remote:Command");
    expect(forget.inputs.create).toBe(renderForgetScript({ lostNode: "gateway", lostIp: "10.0.1.10" }));
    // The plan masks the connection (it holds the key): the component test below reads it.
    expect(forget.dependencies).toContain(byName(rejoining, "enclii-cloud-gateway").urn);
  });

  it("orders it: the new server, then the forget, then the first's bootstrap, then the rest", () => {
    const urn = (name: string) => byName(rejoining, name).urn;
    const forget = urn(`enclii-k3s-gateway${FORGET_SUFFIX}`);
    expect(byName(rejoining, `enclii-k3s-gateway${FORGET_SUFFIX}`).dependencies).toEqual(
      expect.arrayContaining([urn("enclii-cloud-gateway"), urn("enclii-cloud-node-1")]),
    );
    expect(byName(rejoining, "enclii-k3s-gateway-bootstrap").dependencies).toContain(forget);
    // node-1's steps start after the first's uncordon, which follows its bootstrap.
    expect(byName(rejoining, "enclii-k3s-gateway-uncordon").dependencies).toContain(urn("enclii-k3s-gateway-bootstrap"));
    expect(byName(rejoining, "enclii-k3s-node-1-drain").dependencies).toContain(urn("enclii-k3s-gateway-uncordon"));
  });

  it("registers no forget without joinVia, and the first server starts etcd", () => {
    expect(plain.filter((r) => r.name.endsWith(FORGET_SUFFIX))).toEqual([]);
  });

  it("pins the Kubernetes provider to the cluster, so a new API address updates it instead of replacing every object", () => {
    for (const resources of [plain, rejoining])
      expect(byName(resources, "enclii-k3s-kubernetes").inputs).toMatchObject({ clusterIdentifier: "enclii-k3s" });
  });
});

describe("the forget script", () => {
  it("passes shellcheck", () => {
    if (!requireTool("shellcheck")) return;
    expect(shellcheck(renderForgetScript({ lostNode: "gateway", lostIp: "10.0.1.10" }))).toBe("");
  });

  it("quotes what it is given and names the exact peer URL, so 10.0.1.1 never matches 10.0.1.10", () => {
    const script = renderForgetScript({ lostNode: "gateway", lostIp: "10.0.1.1" });
    expect(script).toContain("PEER_URL='https://10.0.1.1:2380'");
    expect(script).toContain(`grep -qF "\\"$PEER_URL\\""`);
    expect(script).toContain("LOST='gateway'");
  });
});

describe("K3sCluster with joinVia", () => {
  let all: Registered[];
  beforeAll(async () => {
    all = await recordResources();
    const pulumi = await import("@pulumi/pulumi");
    const { K3sCluster } = await import("../components/k3s/K3sCluster");
    const jump = { host: "203.0.113.5", user: "root", privateKey: pulumi.secret("key"), hostKey: "ssh-ed25519 AAAA-a" };
    const node = (name: string, ip: string, publicIp?: string) => ({
      name,
      role: "server" as const,
      nodeIp: ip,
      publicIp: publicIp ? pulumi.output(publicIp) : undefined,
      connection: publicIp
        ? jump
        : { host: ip, user: "root", privateKey: pulumi.secret("key"), hostKey: `ssh-ed25519 AAAA-${name}`, proxy: jump },
      network: "private" as const,
      hostFirewall: false,
      ready: [],
    });
    const r2 = { endpoint: "https://acct.r2.cloudflarestorage.com", accessKeyId: "key-id", secretAccessKey: pulumi.secret("key") };
    new K3sCluster("c", {
      nodes: [node("a", "10.0.1.10", "203.0.113.5"), node("b", "10.0.1.11"), node("c", "10.0.1.12")],
      version: "v1.35.8+k3s1",
      adminCidrs: ["198.51.100.7/32"],
      etcdSnapshots: { ...r2, bucket: "enclii-test-backups", folder: "etcd" },
      maintenance: maintenanceSchema.parse(undefined),
      joinVia: "b",
    });
    await settled();
  });

  it("runs the forget on the survivor's own connection, through the jump host, and re-runs it with a new host key", () => {
    const forget = one(all, "command:remote:Command", `c-a${FORGET_SUFFIX}`);
    expect(forget.inputs.connection).toMatchObject({ host: "10.0.1.11", hostKey: "ssh-ed25519 AAAA-b", proxy: { host: "203.0.113.5" } });
    expect(forget.inputs.triggers).toEqual(["ssh-ed25519 AAAA-a"]);
    expect(forget.inputs.create).toBe(renderForgetScript({ lostNode: "a", lostIp: "10.0.1.10" }));
  });

  it("refuses a joinVia that is not a server other than the first", async () => {
    const pulumi = await import("@pulumi/pulumi");
    const { K3sCluster } = await import("../components/k3s/K3sCluster");
    const first = {
      name: "a",
      role: "server" as const,
      nodeIp: "10.0.1.10",
      publicIp: pulumi.output("203.0.113.5"),
      connection: { host: "203.0.113.5", hostKey: "k" },
      network: "private" as const,
      hostFirewall: false,
      ready: [],
    };
    const args = {
      nodes: [first],
      version: "v1.35.8+k3s1",
      adminCidrs: [],
      etcdSnapshots: { endpoint: "", accessKeyId: "", secretAccessKey: "", bucket: "", folder: "" },
      maintenance: maintenanceSchema.parse(undefined),
      joinVia: "a",
    };
    expect(() => new K3sCluster("x", args)).toThrow('x: joinVia "a" is not a server other than the first');
  });
});
