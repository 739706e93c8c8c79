/** Adopting the running production: `enclii:adopt` against the production stack file, through the real program. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { ADOPTABLE, adoptProblems } from "../model/rules/adopt";
import { ROOT } from "./harness";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const ZONE = "00112233445566778899aabbccddeeff";
const TUNNEL = "9f1c2a44-5d6e-4f70-8a9b-0c1d2e3f4a5b";
/** What the running production has, by the names the plan gives them (docs/runbooks/adoption.md, step 2). */
const EXISTING = {
  "enclii-tunnel-tunnel": `${ACCOUNT}/${TUNNEL}`,
  "enclii-tunnel-config": `${ACCOUNT}/${TUNNEL}`,
  "enclii-tunnel-api.enclii.io": `${ZONE}/1a2b3c4d5e6f708192a3b4c5d6e7f809`,
  "enclii-tunnel-enclii.io": `${ZONE}/2a2b3c4d5e6f708192a3b4c5d6e7f809`,
  "enclii-r2-backups": `${ACCOUNT}/enclii-production-backups/default`,
  "enclii-longhorn-release": "longhorn-system/longhorn",
};

function production(adopt: Record<string, string>) {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.production.yaml"));
  cfg.config["enclii:adopt"] = JSON.stringify(adopt);
  return runPlan("production", cfg);
}

describe("enclii:adopt", () => {
  it("registers exactly the named resources with Pulumi's import option, and ignores the tunnel's write-only secret", async () => {
    const { resources } = await production(EXISTING);
    const imported = Object.fromEntries(resources.filter((r) => r.import).map((r) => [r.name, r.import]));
    expect(imported).toEqual(EXISTING);
    expect(resources.find((r) => r.name === "enclii-tunnel-tunnel")?.ignoreChanges).toEqual(["tunnelSecret"]);
    expect(resources.filter((r) => r.ignoreChanges).map((r) => r.name)).toEqual(["enclii-tunnel-tunnel"]);
    // Adopted, not created: the fake engine keeps the id it was given.
    expect(resources.find((r) => r.name === "enclii-tunnel-tunnel")?.inputs.name).toBe("enclii-production");
  });

  it("the bucket name the plan would create is the one adopted", async () => {
    const { resources } = await production(EXISTING);
    const bucket = resources.find((r) => r.name === "enclii-r2-backups")!;
    expect(`${ACCOUNT}/${String(bucket.inputs.name)}/default`).toBe(EXISTING["enclii-r2-backups"]);
  });

  it("refuses unknown names, objects adopted otherwise and ids of the wrong shape, all together", async () => {
    await expect(
      production({
        "enclii-tunnel-tunel": `${ACCOUNT}/${TUNNEL}`,
        "enclii-tunnel-api.enclii.io": "123",
        "enclii-apps-janua-deployment": "enclii-platform/janua",
        "enclii-apps-janua-hs256": "x",
      }),
    ).rejects.toThrow(
      [
        "invalid stack config:",
        "  - enclii:adopt.enclii-apps-janua-deployment: Kubernetes objects need no entry: the provider applies server-side, so an object that exists is taken over by the first update",
        "  - enclii:adopt.enclii-apps-janua-hs256: random values are generated, not adopted; a Secret made from one keeps its value through the Kubernetes object",
        '  - enclii:adopt.enclii-tunnel-api.enclii.io: "123" is not a cloudflare:index/dnsRecord:DnsRecord import id, which is <zone_id>/<dns_record_id>',
        "  - enclii:adopt.enclii-tunnel-tunel: no resource of this stack is named enclii-tunnel-tunel; did you mean enclii-tunnel-tunnel?",
      ].join("\n"),
    );
  });

  it("knows each adoptable type's id as its provider's import documentation writes it", () => {
    expect(adoptProblems({ a: "12345" }, [{ name: "a", type: "hcloud:index/sshKey:SshKey" }])).toEqual([]);
    expect(adoptProblems({ a: "12345-10.0.1.0/24" }, [{ name: "a", type: "hcloud:index/networkSubnet:NetworkSubnet" }])).toEqual([]);
    expect(adoptProblems({ a: `${ACCOUNT}/bucket/eu` }, [{ name: "a", type: "cloudflare:index/r2Bucket:R2Bucket" }])).toEqual([]);
    expect(adoptProblems({ a: `${ACCOUNT}/bucket` }, [{ name: "a", type: "cloudflare:index/r2Bucket:R2Bucket" }])).toEqual([
      `enclii:adopt.a: "${ACCOUNT}/bucket" is not a cloudflare:index/r2Bucket:R2Bucket import id, which is <account_id>/<bucket_name>/<jurisdiction>`,
    ]);
    for (const [type, entry] of Object.entries(ADOPTABLE)) expect(entry.id, type).toMatch(/^<[a-z_]+>([/-]<[a-z_]+>)*$/);
  });
});
