/**
 * Janua's signing keys, as a pipe between `pulumi config get` and `pulumi config set --secret`,
 * so key material never touches the terminal, a file or a log:
 *
 *   pulumi config get enclii:januaSigningKeys --stack production 2>/dev/null \
 *     | npm run --silent keys -- rotate [--overlap-days 7] [--if-older-than-days 90] \
 *     | pulumi config set --secret enclii:januaSigningKeys --stack production
 *
 * `rotate` reads the current set (empty input: a new set), puts a new key first and keeps retired
 * keys for the overlap window (`--overlap-days 0` after a leak: retired keys go at once). It
 * refuses to write to a terminal. `jwks` prints the public set. A one-line summary goes to stderr.
 * Exit status: 0 ok, 2 bad input or usage, 1 anything else.
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_OVERLAP_DAYS,
  keyAgeDays,
  parseSigningKeys,
  publicJwks,
  rotateSigningKeys,
  serializeSigningKeys,
  type SigningKeySet,
} from "../model/config/signingKeys";

export const USAGE = "usage: npm run --silent keys -- rotate [--overlap-days N] [--if-older-than-days N] | jwks  (key set on stdin)";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const usage = (why: string): Result => ({ code: 2, stdout: "", stderr: `${why}\n${USAGE}\n` });

function days(value: string | undefined, flag: string): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : `--${flag} must be a whole number of days`;
}

function readSet(stdin: string, required: boolean): { set?: SigningKeySet; error?: Result } {
  if (stdin.trim() === "") return required ? { error: usage("no key set on stdin") } : {};
  const { value, problems } = parseSigningKeys(stdin.trim(), "stdin");
  return value ? { set: value } : { error: { code: 2, stdout: "", stderr: `${problems.join("\n")}\n` } };
}

export interface Context {
  now?: Date;
  stdoutIsTerminal?: boolean;
}

export async function main(argv: string[], stdin: string, { now = new Date(), stdoutIsTerminal = false }: Context = {}): Promise<Result> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { "overlap-days": { type: "string" }, "if-older-than-days": { type: "string" } },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const [command, ...extra] = parsed.positionals;
  if (extra.length > 0) return usage(`unexpected argument ${extra[0]}`);

  if (command === "jwks") {
    const { set, error } = readSet(stdin, true);
    return error ?? { code: 0, stdout: `${JSON.stringify(publicJwks(set!), null, 2)}\n`, stderr: "" };
  }
  if (command !== "rotate") return usage(command ? `unknown command ${command}` : "no command");
  if (stdoutIsTerminal) return usage("refusing to print private keys to a terminal; pipe them into pulumi config set --secret");

  const overlap = days(parsed.values["overlap-days"], "overlap-days") ?? DEFAULT_OVERLAP_DAYS;
  const ifOlder = days(parsed.values["if-older-than-days"], "if-older-than-days");
  if (typeof overlap === "string") return usage(overlap);
  if (typeof ifOlder === "string") return usage(ifOlder);
  const { set, error } = readSet(stdin, false);
  if (error) return error;
  if (set && ifOlder !== undefined && keyAgeDays(set, now) < ifOlder) {
    return {
      code: 0,
      stdout: stdin,
      stderr: `unchanged: signing key ${set.keys[0].kid} is ${Math.floor(keyAgeDays(set, now))} days old (rotating at ${ifOlder})\n`,
    };
  }
  let next: SigningKeySet;
  try {
    next = await rotateSigningKeys(set, now, overlap);
  } catch (err) {
    return { code: 1, stdout: "", stderr: `${(err as Error).message}\n` };
  }
  const kept = new Set(next.keys.map((k) => k.kid));
  const dropped = (set?.keys ?? []).filter((k) => !kept.has(k.kid)).map((k) => k.kid);
  // Said out loud because `pulumi config get … 2>/dev/null` also yields nothing when it fails.
  const summary = set
    ? `new signing key ${next.keys[0].kid}; still published: ${
        next.keys
          .slice(1)
          .map((k) => k.kid)
          .join(", ") || "none"
      }; dropped: ${dropped.join(", ") || "none"}`
    : `stdin was empty: new key set with signing key ${next.keys[0].kid}`;
  return { code: 0, stdout: `${serializeSigningKeys(next)}\n`, stderr: `${summary}\n` };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

if (require.main === module) {
  readStdin()
    .then((stdin) => main(process.argv.slice(2), stdin, { stdoutIsTerminal: process.stdout.isTTY === true }))
    .then((r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.code;
    })
    .catch((err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    });
}
