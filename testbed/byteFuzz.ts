/**
 * Stack files damaged byte by byte, for property-based testing (fast-check), shared by
 * `test/stack-file-bytes.test.ts` (a few hundred cases, fixed seed) and `bench/config.ts`
 * (thousands): the four platform stack files and a tenant shard file, each carrying a ciphertext
 * (a `secure:` value, a shard's `encryptedkey`), with bits flipped, bytes inserted and deleted, NULs, broken UTF-8, a byte-order
 * mark, a cut-off end, tabs, a second document, tags and aliases (one an alias bomb).
 *
 * The property, over the check `npm run plan` runs before any program loads (loadStackConfig,
 * parseEnvironment, checkAllShards): a file is accepted, or refused with a ConfigError whose every
 * problem names the file (with its line and column when the file is at fault) or a config key;
 * never another exception, never the ciphertext printed back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { checkAllShards } from "../automation/shards";
import { loadStackConfig } from "../automation/stackFile";
import { TENANTS_KEY } from "../model/config/tenants";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { makeTenants } from "./tenantShards";

const ROOT = join(__dirname, "..");
/** A secret's ciphertext, planted in every seed: no problem may print it back. */
export const CIPHERTEXT = "v1:CANARYciphertext9d41";
const SECURE = `  enclii:smtpPassword:\n    secure: ${CIPHERTEXT}\n`;
const PLATFORM_SEEDS = ["Pulumi.production.yaml", "Pulumi.staging.yaml", "examples/Pulumi.ha.yaml", "examples/Pulumi.external.yaml"].map(
  (f) => readFileSync(join(ROOT, f), "utf8").replace("config:\n", `config:\n${SECURE}`),
);
export const SHARD_STACK = "staging-001";
/** A shard holds only its tenants and platform stack, so its secret is the stack's encrypted data key. */
const SHARD_SEED = `encryptedkey: ${CIPHERTEXT}\n${stringify({ config: { [TENANTS_KEY]: makeTenants(3) } })}`;
const SEEDS = [...PLATFORM_SEEDS, SHARD_SEED];

/** Byte sequences that are not UTF-8: a stray continuation, a cut-off lead, an overlong '/', a surrogate, past U+10FFFF. */
const NOT_UTF8 = [[0x80], [0xff], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]];
const ASCII = (s: string) => [...Buffer.from(s)];
/** Inserted at a line start: YAML that Pulumi reads differently or not at all. */
const SNIPPETS = [
  "---\n",
  "...\n---\nconfig: {}\n",
  "\t",
  "  enclii:x: !!str 1\n",
  "  enclii:y: !custom x\n",
  "  enclii:z: !!binary aGk=\n",
  "  enclii:a: &a [1, 2]\n  enclii:b: *a\n",
  "  enclii:c: *nowhere\n",
  `a: &a [x, x, x, x, x, x, x, x, x, x]\n${"bcdefgh"
    .split("")
    .map((k, i) => `${k}: &${k} [${Array(10).fill(`*${"abcdefgh"[i]}`).join(", ")}]`)
    .join("\n")}\n`,
].map(ASCII);

type Damage =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; length: number }
  | { kind: "line"; at: number; bytes: number[] }
  | { kind: "bom" }
  | { kind: "truncate"; at: number };

const at = fc.nat(1_000_000);
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("flip" as const), at, bit: fc.nat(7) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      at,
      bytes: fc.oneof(
        fc.constantFrom(...NOT_UTF8, [0x00], [0x07], [0x1b], [0x7f], [0xc2, 0x85], [0xef, 0xbb, 0xbf], [0xef, 0xbf, 0xbe]),
        fc.array(fc.nat(255), { minLength: 1, maxLength: 4 }),
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("line" as const), at, bytes: fc.constantFrom(...SNIPPETS) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "bom" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at }) },
);

export interface ByteCase {
  seed: number;
  damage: Damage[];
}
export const byteCaseArbitrary: fc.Arbitrary<ByteCase> = fc.record({
  seed: fc.nat(SEEDS.length - 1),
  damage: fc.array(damage, { minLength: 1, maxLength: 4 }),
});

export const isShard = (c: ByteCase) => c.seed === SEEDS.length - 1;

function apply(bytes: number[], d: Damage): number[] {
  const i = d.kind === "bom" ? 0 : d.at % (bytes.length + 1);
  switch (d.kind) {
    case "flip":
      return bytes.map((b, k) => (k === i ? b ^ (1 << d.bit) : b));
    case "insert":
      return [...bytes.slice(0, i), ...d.bytes, ...bytes.slice(i)];
    case "delete":
      return [...bytes.slice(0, i), ...bytes.slice(i + d.length)];
    case "line": {
      const starts = [0, ...bytes.flatMap((b, k) => (b === 0x0a ? [k + 1] : []))];
      const s = starts[d.at % starts.length];
      return [...bytes.slice(0, s), ...d.bytes, ...bytes.slice(s)];
    }
    case "bom":
      return [0xef, 0xbb, 0xbf, ...bytes];
    case "truncate":
      return bytes.slice(0, i);
  }
}

/** The damaged file's bytes. */
export function renderBytes(c: ByteCase): Uint8Array {
  return Uint8Array.from(c.damage.reduce(apply, [...Buffer.from(SEEDS[c.seed])]));
}

export interface ByteOutcome {
  /** 0 accepted, 2 refused (a ConfigError), 1 anything else thrown. */
  code: 0 | 1 | 2;
  printed: string;
  file: string;
}

/** Checks platform and shard files against: the staging platform (for shards). */
export class ByteChecker {
  private readonly dir = mkdtempSync(join(tmpdir(), "enclii-byte-fuzz-"));
  private readonly specs = readSpecFiles(DOGFOODING_DIR);
  private readonly staging = (() => {
    const cfg = loadStackConfig(join(ROOT, "Pulumi.staging.yaml"));
    return parseEnvironment("staging", cfg.config, new Set(cfg.secretKeys), this.specs);
  })();

  /** What `npm run plan` decides about the file before it loads any program, run in this process. */
  check(c: ByteCase): ByteOutcome {
    const file = join(this.dir, isShard(c) ? `Pulumi.${SHARD_STACK}.yaml` : "Pulumi.fuzz.yaml");
    writeFileSync(file, renderBytes(c));
    try {
      if (isShard(c)) checkAllShards([file], this.staging);
      else {
        const cfg = loadStackConfig(file);
        parseEnvironment("fuzz", cfg.config, new Set(cfg.secretKeys), this.specs);
      }
      return { code: 0, printed: "", file };
    } catch (err) {
      if (err instanceof ConfigError) return { code: 2, printed: err.problems.join("\n"), file };
      return { code: 1, printed: err instanceof Error ? (err.stack ?? err.message) : String(err), file };
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Why an outcome breaks the property, or undefined when it holds. */
export function byteViolation(o: ByteOutcome): string | undefined {
  if (o.code === 1) return `not a ConfigError: ${o.printed.split("\n")[0]}`;
  if (o.printed.includes(CIPHERTEXT)) return "a secret's ciphertext was printed";
  if (/^ {4}at /m.test(o.printed)) return "a stack trace was printed";
  // The file, with its position when the file itself is at fault; a config key path (whose key the
  // damage may have filled with anything); a spec file.
  const located = new RegExp(`^(${escape(o.file)}(:\\d+:\\d+)?: |[^\\s:]+:[^\\s:]|dogfooding/[\\w-]+\\.ya?ml: )`);
  const unplaced = o.printed.split("\n").filter((p) => o.code === 2 && !located.test(p));
  return unplaced.length > 0 ? `problems naming neither the file nor a key: ${unplaced.join(" | ")}` : undefined;
}
