/**
 * Broken stack files as a new user writes them, each with one defect: every one is refused before
 * anything loads Pulumi, with the file position or the key path named and what was expected.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_STACK_FILE_BYTES, parseStackFile } from "../automation/stackFile";
import { HOSTNAMES_PER_TENANT, shardTenants, TENANTS_PER_SHARD } from "../model/config/tenants";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT } from "./harness";

const FILE = "Pulumi.staging.yaml";
const STAGING = readFileSync(join(ROOT, FILE), "utf8");
const SPECS = readSpecFiles(DOGFOODING_DIR);
const EXTERNAL = [
  "  enclii:postgres:",
  "    mode: external",
  "    host: db.example.net",
  "    sslmode: verify-full",
  "  enclii:externalDatabaseUrls:",
  "    secure: AAABAKsecretciphertext",
].join("\n");

/** The problems a stack file's text is refused with (the file is parsed, then its config checked). */
function refusal(text: string): string[] {
  try {
    const cfg = parseStackFile(FILE, text);
    parseEnvironment("staging", cfg.config, new Set(cfg.secretKeys), SPECS);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const edit = (from: string, to: string) => {
  if (!STAGING.includes(from)) throw new Error(`the staging file has no ${JSON.stringify(from)}`);
  return STAGING.replace(from, to);
};
const withExternal = (urls: Record<string, string>) => {
  const cfg = parseStackFile(
    FILE,
    edit("  enclii:postgres:\n    mode: in-cluster\n    storageGi: 20\n    backupRetentionDays: 3\n", `${EXTERNAL}\n`),
  );
  cfg.config["enclii:externalDatabaseUrls"] = JSON.stringify(urls);
  return cfg;
};
function externalRefusal(urls: Record<string, string>): string[] {
  const cfg = withExternal(urls);
  try {
    parseEnvironment("staging", cfg.config, new Set(cfg.secretKeys), SPECS);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("the staging file itself", () => {
  it("is accepted", () => {
    expect(refusal(STAGING)).toEqual([]);
  });
});

describe("YAML that does not parse: file, line and column", () => {
  it.each([
    [
      "an unclosed flow map",
      edit("    switchyard-api: { replicas: 1 }", "    switchyard-api: { replicas: 1"),
      /^Pulumi\.staging\.yaml:\d+:\d+: /,
    ],
    [
      "tab indentation",
      edit("  enclii:k3s:\n    version", "  enclii:k3s:\n\tversion"),
      /^Pulumi\.staging\.yaml:17:1: Tabs are not allowed as indentation/,
    ],
    [
      "a duplicated key at the top level",
      edit("  enclii:protect: false", "  enclii:protect: false\n  enclii:protect: true"),
      /^Pulumi\.staging\.yaml:19:3: Map keys must be unique/,
    ],
    [
      "a duplicated key inside a node",
      edit("      role: server", "      role: server\n      role: agent"),
      /^Pulumi\.staging\.yaml:16:7: Map keys must be unique/,
    ],
    ["a misaligned mapping", edit("    port: 587", "     port: 587"), /^Pulumi\.staging\.yaml:\d+:\d+: /],
  ])("%s", (_, text, first) => {
    const problems = refusal(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(first);
  });

  it("reports the first YAML error only, and never quotes what follows it (a secret pasted below)", () => {
    const secret = "pasted-secret-0c1d";
    const text = `${edit("    switchyard-api: { replicas: 1 }", "    switchyard-api: { replicas: 1 } {")}  enclii:sshPrivateKey: ${secret}\n`;
    const problems = refusal(text);
    expect(problems).toHaveLength(1);
    expect(problems.join("\n")).not.toContain(secret);
  });

  it("refuses a config key without a namespace, at its position", () => {
    expect(refusal(edit("  enclii:protect: false", "  encliiprotect: false"))).toEqual([
      "Pulumi.staging.yaml:18:3: encliiprotect: not a config key: keys are namespace:name, such as enclii:domain",
    ]);
  });

  it("refuses a stack setting that Pulumi does not have, suggesting the one meant", () => {
    expect(refusal(STAGING.replace("config:", "confg:"))).toEqual([
      'Pulumi.staging.yaml:3:1: unknown stack setting "confg"; did you mean "config"?',
    ]);
  });

  it("refuses a key without a value", () => {
    expect(refusal(edit("  enclii:protect: false", "  enclii:protect:"))).toEqual([
      "Pulumi.staging.yaml:18:3: enclii:protect: has no value: write one, or remove the key",
    ]);
  });
});

/** The problems parsing alone finds in a stack file of `config:` and these lines (no secrets required). */
function readingRefusal(...lines: string[]): string[] {
  try {
    parseStackFile(FILE, ["config:", ...lines, ""].join("\n"), () => []);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

// Each form checked against the real CLI in test/stack-file-pulumi.real.test.ts; here, the words.
describe("values Pulumi's YAML reads differently: refused with what to write instead, never quoted", () => {
  const QUOTE = 'quote it ("…") if it is text';
  it.each<[string, string[], string[]]>([
    [
      "a leading zero",
      ["  enclii:x: 0123"],
      [
        `${FILE}:2:13: enclii:x: a number with a leading zero, which Pulumi's YAML reads as octal (0123 is 83) and this plan as decimal: write it without the leading zero, or ${QUOTE}`,
      ],
    ],
    [
      "binary, underscores, upper-case hex, a signed hex, nested",
      ["  enclii:x: [0b101, 1_000, 0X1F, -0x10]"],
      [14, 21, 28, 34].map(
        (col, i) =>
          `${FILE}:2:${col}: enclii:x[${i}]: a number in a form Pulumi's YAML reads as a number and this plan as text (0b…, 0X…, a signed 0x…, or digits with _): write the number in decimal, or ${QUOTE}`,
      ),
    ],
    [
      "a whole number past 2^53",
      ["  enclii:x: { id: 12345678901234567890 }"],
      [
        `${FILE}:2:19: enclii:x.id: a whole number past 2^53 (9007199254740991), which loses digits on its way to the program: quote it ("…") if it is an id, or write a smaller number`,
      ],
    ],
    [
      "infinity",
      ["  enclii:x: .inf"],
      [
        `${FILE}:2:13: enclii:x: infinity or not-a-number (.inf, .nan), which Pulumi cannot hand a program (JSON has neither): write a number, or ${QUOTE}`,
      ],
    ],
    [
      "past a float's range",
      ["  enclii:x: 1e400"],
      [
        `${FILE}:2:13: enclii:x: a number past the largest a float holds (1.8e308), which Pulumi reads as text and this plan as infinity: write a smaller number, or ${QUOTE}`,
      ],
    ],
    [
      "a date",
      ["  enclii:x: 2026-12-07"],
      [
        `${FILE}:2:13: enclii:x: a date, which Pulumi's YAML hands the program as "2001-12-14 00:00:00 +0000 UTC" text: quote it ("…") to keep it as written`,
      ],
    ],
    [
      "escapes Pulumi's YAML refuses",
      ['  enclii:x: "a\\/b"', '  enclii:y: "\\ud83d\\ude00"'],
      [
        `${FILE}:2:13: enclii:x: the escape \\/, which Pulumi's YAML does not know: write / alone`,
        `${FILE}:3:13: enclii:y: an escape (\\ud83d) for a surrogate or past U+10FFFF, which Pulumi's YAML refuses: write the character itself, or \\U and its code point's eight hex digits`,
      ],
    ],
    [
      "keys Pulumi reads as something else",
      ['  enclii:x: { 011: a, ~: b, 2026-12-07: c, "<<": d }'],
      [
        ...[15, 23, 29].map(
          (col) =>
            `${FILE}:2:${col}: enclii:x: a key Pulumi's YAML reads differently (a date, empty, a fraction, or a number with a leading zero or in another base): quote the key ("…")`,
        ),
        `${FILE}:2:44: enclii:x: a quoted "<<" key, which Pulumi's YAML reads again as a merge key (<<): name the key otherwise`,
      ],
    ],
    [
      "merges Pulumi refuses, or that stand for keys",
      ["  <<: { enclii:y: 1 }", "  enclii:x: { <<: { a: 1 }, <<: { b: 2 } }", "  enclii:z: { <<: 1 }"],
      [
        `${FILE}:3:29: enclii:x: a second merge key (<<) in one map, which Pulumi's YAML refuses: merge them in one list (<<: [*a, *b])`,
        `${FILE}:4:15: enclii:z: a merge key (<<) needs a map, an alias to one, or a list of them`,
        `${FILE}:2:3: a merge key (<<) directly under config: write each key out`,
      ],
    ],
    [
      "a secret inside a plain value",
      ["  enclii:x:", "    a:", "      secure: v1:AAAAciphertext"],
      [
        `${FILE}:2:3: enclii:x: holds a secret inside its value, which Pulumi decrypts into the value while this plan sees ciphertext: set the whole key as a secret (pulumi config set --secret enclii:x …)`,
      ],
    ],
  ])("%s", (_, lines, problems) => {
    expect(readingRefusal(...lines)).toEqual(problems);
  });

  it("reads what both read alike: hex, 0o, floats, YAML 1.1's yes and on as text, merges, a secret", () => {
    const { config, secretKeys } = parseStackFile(
      FILE,
      "config:\n  enclii:a: [0x1F, 0o17, 08, +12, 1e3, .5, -0.0, yes, on]\n  enclii:b: { <<: { p: 1, q: 2 }, q: 3 }\n  enclii:c:\n    secure: v1:AAAA\n",
      () => [],
    );
    expect(config["enclii:a"]).toBe('[31,15,8,12,1000,0.5,0,"yes","on"]');
    expect(JSON.parse(config["enclii:b"])).toEqual({ p: 1, q: 3 });
    expect(secretKeys).toEqual(["enclii:c"]);
  });

  it("a carriage return alone is refused as a line break, before the YAML it confuses", () => {
    expect(readingRefusal("  enclii:x: a\r  enclii:y: b")).toEqual([
      `${FILE}:2:14: a line break (U+000D) that Pulumi's Go YAML sees and this check does not: use a plain newline`,
    ]);
  });
});

describe("the size of a stack file", () => {
  /** A shard file as full as a valid one gets: every tenant with every hostname at DNS's 253 characters. */
  const fullShard = () => {
    const hostname = (t: number, h: number) => `${`t${t}h${h}-`.padEnd(63, "a")}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`;
    const tenants = Array.from({ length: TENANTS_PER_SHARD }, (_, t) =>
      [
        `    - name: tenant-${t}`,
        "      hostnames:",
        ...Array.from({ length: HOSTNAMES_PER_TENANT }, (_, h) => `        - ${hostname(t, h)}`),
        "      service: { name: web, port: 8080 }",
      ].join("\n"),
    );
    return [
      "config:",
      "  enclii-tenants:platformStack: organization/enclii-infra/staging",
      "  enclii-tenants:tenants:",
      ...tenants,
      "",
    ].join("\n");
  };

  it("holds the fullest valid shard file", () => {
    const text = fullShard();
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_STACK_FILE_BYTES);
    const { config } = parseStackFile("tenants/Pulumi.staging-001.yaml", text, () => []);
    const tenants = shardTenants.safeParse(JSON.parse(config["enclii-tenants:tenants"]));
    expect(tenants.success).toBe(true);
    expect(tenants.data?.flatMap((t) => t.hostnames).every((h) => h.length === 253)).toBe(true);
  });

  it("refuses a larger file before parsing it, even one that is not YAML", () => {
    const text = `config:\n  enclii:note: "${"x".repeat(MAX_STACK_FILE_BYTES)}"\n`;
    expect(() => parseStackFile(FILE, text)).toThrow(
      new ConfigError([
        `${FILE}: ${Buffer.byteLength(text).toLocaleString("en")} bytes, past the 1,048,576 a stack file may hold (a full shard of 100 tenants is about 0.55 MB): remove what does not belong in it`,
      ]),
    );
    expect(() => parseStackFile(FILE, Buffer.alloc(MAX_STACK_FILE_BYTES + 1, 0xff))).toThrow(ConfigError);
  });
});

describe("numbers and text out of range, refused before anything is expanded or rendered", () => {
  it.each<[string, string, string[]]>([
    [
      "a node count of a billion",
      edit("      role: server", "      role: server\n      count: 1000000000"),
      ["enclii:nodes[0].count: must be at most 100"],
    ],
    [
      "a storage size of a billion GiB",
      edit("    storageGi: 20", "    storageGi: 1000000000"),
      ["enclii:postgres.storageGi: must be at most 10240"],
    ],
    [
      "a storage size the node's disk cannot hold",
      edit("    storageGi: 20", "    storageGi: 2000"),
      [
        "enclii:postgres.storageGi: the volumes need 2016 GiB of disk (PostgreSQL 2000 GiB + Redis 5 GiB + observability 11 GiB, kept 1×), the nodes have 60 GiB usable (75% of 80 GiB)",
      ],
    ],
    [
      "a node count in words",
      edit("      role: server", "      role: server\n      count: three"),
      ["enclii:nodes[0].count: must be a number, not text"],
    ],
    [
      "a fractional replica count",
      edit("    replicas: 2", "    replicas: 2.5"),
      ["enclii:tunnel.replicas: must be a whole number, not a number"],
    ],
    [
      "a budget in the billions",
      edit("    monthlyUsd: 50", "    monthlyUsd: 5000000000"),
      ["enclii:budget.monthlyUsd: must be at most 1000000"],
    ],
    [
      "an exchange rate in cents",
      STAGING.replace("config:", "config:\n  enclii:prices: { eurToUsd: 108.8 }"),
      ["enclii:prices.eurToUsd: must be at most 5"],
    ],
  ])("%s", (_, text, problems) => {
    expect(refusal(text)).toEqual(problems);
  });

  it("a 100 KB SSH user name", () => {
    const text = STAGING.replace(
      "  enclii:nodes:\n    - name: staging\n      kind: cloud\n      serverType: cx33\n      locations: [nbg1, fsn1, hel1] # not fsn1 first: Hetzner has closed it to new servers more than once\n      role: server\n",
      `  enclii:nodes:\n    - { name: ax41-1, kind: dedicated, host: 203.0.113.10, role: server, hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFbxtNDZMD1FYnkQR1/pusV4AeFRh8BQDXjgGPOnp2E, user: ${"u".repeat(100_000)} }\n`,
    );
    expect(refusal(text)).toEqual([
      "enclii:nodes[0].user: must be a user name: lowercase letters, digits, '_' and '-', at most 32 characters",
    ]);
  });
});

describe("values that would reach a renderer unchecked", () => {
  it("an external database host with a space", () => {
    const text = edit(
      "  enclii:postgres:\n    mode: in-cluster\n    storageGi: 20\n    backupRetentionDays: 3\n",
      `${EXTERNAL.replace("host: db.example.net", "host: db example.net")}\n`,
    );
    expect(refusal(text)).toEqual(["enclii:postgres.host: must be a lowercase host name or an IPv4 address"]);
  });

  it("a malformed percent-encoding in a database URL's user name, without echoing the URL", () => {
    const secret = "s3cr3t-pw";
    const problems = externalRefusal({
      enclii: `postgres://en%zzclii:${secret}@db.example.net:5432/enclii`,
      janua: `postgres://janua:${secret}@db.example.net:5432/janua`,
    });
    expect(problems).toEqual([
      "enclii:externalDatabaseUrls.enclii: has a malformed percent-encoding (%XX) in its user, password or database",
    ]);
    expect(problems.join("\n")).not.toContain(secret);
  });

  it("database URLs PgBouncer would misread, or that point elsewhere", () => {
    expect(
      externalRefusal({
        enclii: "postgres://enclii:md5" + "0".repeat(32) + "@db.example.net:5432/enclii",
        janua: "postgres://janua:pw@other.example.net:5432/janua db",
      }),
    ).toEqual([
      "enclii:externalDatabaseUrls.enclii: the password must be the password itself, without control characters (not a stored md5 or SCRAM hash)",
      "enclii:externalDatabaseUrls.janua: the database name must be letters, digits, '_', '.' and '-', at most 63 characters",
      "enclii:externalDatabaseUrls.janua: points at another server than enclii:postgres.host and port (db.example.net:5432), which PgBouncer connects to",
    ]);
  });
});

describe("admin CIDRs judged by the address space they cover", () => {
  const cidrs = (list: string[]) => edit("  enclii:adminCidrs:\n    - 198.51.100.7/32", `  enclii:adminCidrs: [${list.join(", ")}]`);
  it.each<[string, string[], string[]]>([
    [
      "two halves of the internet",
      ["0.0.0.0/1", "128.0.0.0/1"],
      ["enclii:adminCidrs: together they admit every IPv4 address: SSH and the Kubernetes API would be open to the whole internet"],
    ],
    [
      "a public /8",
      ["51.0.0.0/8"],
      ["enclii:adminCidrs: together they admit 16777216 addresses; at most 65536 (one /16) may reach SSH and the Kubernetes API"],
    ],
    ["a /16 and an address inside it, counted once", ["51.15.0.0/16", "51.15.1.1/32"], []],
  ])("%s", (_, list, problems) => {
    expect(refusal(cidrs(list))).toEqual(problems);
  });

  it("names private and documentation ranges in a warning", () => {
    const cfg = parseStackFile(FILE, cidrs(["10.1.0.0/24", "198.51.100.7/32", "51.15.1.1/32"]));
    const env = parseEnvironment("staging", cfg.config, new Set(cfg.secretKeys), SPECS);
    expect(env.warnings).toEqual([
      "enclii:adminCidrs[0]: 10.1.0.0/24 is in a private range (RFC 1918): only a VPN or a NAT inside it can reach SSH and the API from there; use the public address pulumi up runs from",
      "enclii:adminCidrs[1]: 198.51.100.7/32 is in a documentation range (RFC 5737): only a VPN or a NAT inside it can reach SSH and the API from there; use the public address pulumi up runs from",
    ]);
  });
});

describe("keys that look like ours but are not", () => {
  it.each<[string, string, string]>([
    [
      "an extra colon",
      edit("  enclii:budget:\n    monthlyUsd: 50", "  enclii:budget:monthlyUsd: 50"),
      "enclii:budget:monthlyUsd: unknown config key; did you mean enclii:budget? A field is set with pulumi config set --path enclii:budget.monthlyUsd",
    ],
    [
      "a missing letter in the namespace",
      edit("  enclii:budget:", "  encli:budget:"),
      'encli:budget: unknown namespace "encli"; did you mean enclii:budget?',
    ],
    ["shouting", edit("  enclii:tunnel:", "  ENCLII:TUNNEL:"), 'ENCLII:TUNNEL: unknown namespace "ENCLII"; did you mean enclii:tunnel?'],
    [
      "a key in the wrong case",
      edit("  enclii:protect:", "  enclii:Protect:"),
      "enclii:Protect: unknown config key; did you mean enclii:protect?",
    ],
    ["a misspelt key", edit("  enclii:smtp:", "  enclii:smpt:"), "enclii:smpt: unknown config key; did you mean enclii:smtp?"],
  ])("%s", (_, text, problem) => {
    expect(refusal(text)).toContain(problem);
  });

  it("leaves other namespaces to their providers", () => {
    expect(
      refusal(STAGING.replace("config:", "config:\n  hcloud:endpoint: https://api.hetzner.cloud/v1\n  kubernetes:context: x")),
    ).toEqual([]);
  });
});

describe("one wording per kind of problem", () => {
  it.each<[string, string, string[]]>([
    [
      "a typo in postgres.mode",
      edit("    mode: in-cluster", "    mode: incluster"),
      ['enclii:postgres.mode: must be one of "in-cluster", "external"'],
    ],
    ["postgres.mode left out", edit("    mode: in-cluster\n", ""), ['enclii:postgres.mode: is required: one of "in-cluster", "external"']],
    ["a node kind left out", edit("      kind: cloud\n", ""), ['enclii:nodes[0].kind: is required: one of "cloud", "dedicated"']],
    ["a required field left out", edit("    zoneId: 00112233445566778899aabbccddeeff\n", ""), ["enclii:cloudflare.zoneId: is required"]],
    [
      "a list where an object belongs",
      edit("  enclii:tunnel:\n    replicas: 2", "  enclii:tunnel: [2]"),
      ["enclii:tunnel: must be an object (fields), not a list"],
    ],
    [
      "text where true or false belongs",
      edit("  enclii:protect: false", "  enclii:protect: no-thanks"),
      ["enclii:protect: must be true or false, not text"],
    ],
  ])("%s", (_, text, problems) => {
    expect(refusal(text)).toEqual(problems);
  });
});

describe("k3s versions", () => {
  it("refuses a release that is not in the dated table, saying how to add one", () => {
    expect(refusal(edit("version: v1.35.8+k3s1", "version: v1.99.0+k3s1"))).toEqual([
      "enclii:k3s.version: v1.99.0+k3s1 is not in the k3s release table (model/pins.ts, as of 2026-12-02; newest v1.37.1+k3s1): read its notes at https://github.com/k3s-io/k3s/releases and add its tag to K3S_RELEASES",
    ]);
  });

  it("accepts every release in the table", () => {
    expect(refusal(edit("version: v1.35.8+k3s1", "version: v1.35.9+k3s1"))).toEqual([]);
  });
});

describe("the CLI on a refused file", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-refused-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("exits 2 without a stack trace, and never loads a Pulumi SDK to say so", () => {
    const file = join(tmp, "Pulumi.broken.yaml");
    writeFileSync(file, edit("  enclii:budget:", "  encli:budget:"));
    const script = [
      'const { planCommand } = require("./automation/planCommand");',
      "let err = '';",
      `planCommand(["broken", "--config", ${JSON.stringify(file)}], { stdout: () => {}, stderr: (t) => (err += t) }).then((code) => {`,
      "  const pulumi = Object.keys(require.cache).filter((m) => m.includes('/node_modules/@pulumi/'));",
      "  process.stdout.write(JSON.stringify({ code, err, pulumi: pulumi.length }));",
      "});",
    ].join("\n");
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), ["-e", script], { cwd: ROOT, encoding: "utf8" });
    const out = JSON.parse(r.stdout) as { code: number; err: string; pulumi: number };
    expect(out.code).toBe(2);
    expect(out.err).toBe('invalid stack config:\n  - encli:budget: unknown namespace "encli"; did you mean enclii:budget?\n');
    expect(out.pulumi).toBe(0);
  });
});
