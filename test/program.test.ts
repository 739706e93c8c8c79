import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, SCHEMAS, recordResources, settled, type Registered } from "./harness";

describe("Pulumi.yaml", () => {
  const schema = JSON.parse(readFileSync(join(SCHEMAS, "pulumi-project.schema.json"), "utf8"));
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

  it("validates against Pulumi's project schema", () => {
    const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8"));
    expect(validate(project), JSON.stringify(validate.errors)).toBe(true);
    expect(project).toMatchObject({ name: "enclii-infra", runtime: { name: "nodejs" }, main: "stacks/index.ts" });
  });

  it("of the tenant shards' project too (its entry, tenants/index.ts, is run in test/tenants.test.ts)", () => {
    const project = parse(readFileSync(join(ROOT, "tenants", "Pulumi.yaml"), "utf8"));
    expect(validate(project), JSON.stringify(validate.errors)).toBe(true);
    expect(project).toEqual({
      name: "enclii-tenants",
      description: expect.any(String),
      runtime: { name: "nodejs", options: { typescript: true } },
    });
  });
});

describe("program with invalid config", () => {
  let all: Registered[];
  let error: unknown;
  beforeAll(async () => {
    all = await recordResources("broken");
    const pulumi = await import("@pulumi/pulumi");
    pulumi.runtime.setAllConfig({ "enclii:domain": "enclii.io", "enclii:nodes": "[]", "enclii:sshPrivateKey": "k" }, []);
    const { program } = await import("../stacks/program");
    error = await program().then(
      () => undefined,
      (e: unknown) => e,
    );
    await settled();
  });

  it("fails with every problem at once", async () => {
    const { ConfigError } = await import("../stacks/config");
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as InstanceType<typeof ConfigError>).problems).toEqual([
      "enclii:cloudflare: is required",
      "enclii:adminCidrs: is required",
      "enclii:nodes: needs at least one node",
      "enclii:k3s: is required",
      "cloudflare:apiToken: is required (pulumi config set --secret cloudflare:apiToken …)",
      "enclii:januaSigningKeys: is required (pulumi config set --secret enclii:januaSigningKeys …)",
      "enclii:sshPrivateKey: must be set as a secret (pulumi config set --secret enclii:sshPrivateKey …)",
    ]);
  });

  it("registers nothing", () => {
    expect(all).toEqual([]);
  });
});
