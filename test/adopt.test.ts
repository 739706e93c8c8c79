/** Adopting the running production: `enclii:adopt` against the production stack file, through the real program. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { ADOPTABLE, adoptProblems, type AdoptScope } from "../model/rules/adopt";
import { ROOT } from "./harness";

/** The production stack file's own Cloudflare ids (enclii:cloudflare). */
const ACCOUNT = "0123456789abcdef0123456789abcdef";
const ZONE = "fedcba9876543210fedcba9876543210";
/** Ids of another account and zone than production's. */
const OTHER_ACCOUNT = "aaaabbbbccccddddeeeeffff00001111";
const OTHER_ZONE = "00112233445566778899aabbccddeeff";
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

/** The offline plan of production (what `npm run plan` runs) with this `enclii:adopt` and, optionally, Cloudflare for SaaS on. */
function production(adopt: Record<string, string>, customHostnames = false) {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.production.yaml"));
  cfg.config["enclii:adopt"] = JSON.stringify(adopt);
  if (customHostnames) cfg.config["enclii:customHostnames"] = "true";
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
    const stack: AdoptScope = { cloudflare: { accountId: ACCOUNT, zoneId: ZONE }, r2: { jurisdiction: "eu" } };
    expect(adoptProblems({ a: "12345" }, [{ name: "a", type: "hcloud:index/sshKey:SshKey" }], stack)).toEqual([]);
    expect(adoptProblems({ a: "12345-10.0.1.0/24" }, [{ name: "a", type: "hcloud:index/networkSubnet:NetworkSubnet" }], stack)).toEqual([]);
    expect(adoptProblems({ a: `${ACCOUNT}/bucket/eu` }, [{ name: "a", type: "cloudflare:index/r2Bucket:R2Bucket" }], stack)).toEqual([]);
    expect(adoptProblems({ a: `${ACCOUNT}/bucket` }, [{ name: "a", type: "cloudflare:index/r2Bucket:R2Bucket" }], stack)).toEqual([
      `enclii:adopt.a: "${ACCOUNT}/bucket" is not a cloudflare:index/r2Bucket:R2Bucket import id, which is <account_id>/<bucket_name>/<jurisdiction>`,
    ]);
    for (const [type, entry] of Object.entries(ADOPTABLE)) expect(entry.id, type).toMatch(/^<[a-z_]+>([/-]<[a-z_]+>)*$/);
  });

  it("checks every segment of a Cloudflare id that names a zone, an account, a jurisdiction or the bucket's name, and no Hetzner id", () => {
    const named = { zone: "<zone_id>", account: "<account_id>", jurisdiction: "<jurisdiction>", bucket: "<bucket_name>" } as const;
    for (const [type, entry] of Object.entries(ADOPTABLE)) {
      const segments = entry.id.split("/");
      const checked = segments.map((segment) => Object.values(named).includes(segment as never));
      const parts = segments.map((_, i) => entry.parts?.[i]);
      // Every segment that names one of these is checked as what it names, and nothing else is.
      expect(
        parts.map((p) => (p ? named[p] : undefined)),
        type,
      ).toEqual(segments.map((s, i) => (checked[i] ? s : undefined)));
      if (type.startsWith("cloudflare:")) expect(entry.parts?.[0], type).toMatch(/^(zone|account)$/);
      if (type.startsWith("hcloud:")) expect(entry.parts, type).toBeUndefined();
    }
  });

  it("refuses, in the offline plan, ids under another zone, account or jurisdiction and another bucket name, every problem at once", async () => {
    await expect(
      production(
        {
          "enclii-tunnel-api.enclii.io": `${OTHER_ZONE}/1a2b3c4d5e6f708192a3b4c5d6e7f809`,
          "enclii-tunnel-enclii.io": `${ZONE}/2a2b3c4d5e6f708192a3b4c5d6e7f809`,
          "enclii-tunnel-tunnel": `${OTHER_ACCOUNT}/${TUNNEL}`,
          "enclii-tunnel-config": `${OTHER_ACCOUNT}/${TUNNEL}`,
          "enclii-saas-fallback": OTHER_ZONE,
          "enclii-r2-backups": `${OTHER_ACCOUNT}/enclii-prod-backups/eu`,
        },
        true,
      ),
    ).rejects.toThrow(
      [
        "invalid stack config:",
        `  - enclii:adopt.enclii-r2-backups: the id's account ${OTHER_ACCOUNT} is not this stack's account (enclii:cloudflare.accountId ${ACCOUNT}); adopt only what lives in this stack's account`,
        "  - enclii:adopt.enclii-r2-backups: the id's bucket enclii-prod-backups is not the bucket the plan registers under this name (enclii-production-backups); an R2 bucket cannot be renamed, so adopt only the bucket named enclii-production-backups",
        "  - enclii:adopt.enclii-r2-backups: the id's jurisdiction eu is not this stack's jurisdiction (enclii:r2.jurisdiction default); a bucket's jurisdiction is fixed at creation, so adopt a bucket in default or set enclii:r2.jurisdiction to eu",
        `  - enclii:adopt.enclii-saas-fallback: the id's zone ${OTHER_ZONE} is not this stack's zone (enclii:cloudflare.zoneId ${ZONE}); adopt only what lives in this stack's zone`,
        `  - enclii:adopt.enclii-tunnel-api.enclii.io: the id's zone ${OTHER_ZONE} is not this stack's zone (enclii:cloudflare.zoneId ${ZONE}); adopt only what lives in this stack's zone`,
        `  - enclii:adopt.enclii-tunnel-config: the id's account ${OTHER_ACCOUNT} is not this stack's account (enclii:cloudflare.accountId ${ACCOUNT}); adopt only what lives in this stack's account`,
        `  - enclii:adopt.enclii-tunnel-tunnel: the id's account ${OTHER_ACCOUNT} is not this stack's account (enclii:cloudflare.accountId ${ACCOUNT}); adopt only what lives in this stack's account`,
      ].join("\n"),
    );
  });

  it("adopts the same objects under the stack's own zone and account, the fallback origin too", async () => {
    const own = { ...EXISTING, "enclii-saas-fallback": ZONE };
    const { resources } = await production(own, true);
    const imported = Object.fromEntries(resources.filter((r) => r.import).map((r) => [r.name, r.import]));
    expect(imported).toEqual(own);
  });
});
