/**
 * `plan <stack> [--out DIR] [--config FILE]`: the offline plan, as a function the CLI and the
 * tests call alike. The stack file and config are checked first, loading no Pulumi SDK; only a
 * config that passes loads the program and its providers.
 * Exit status: 0 ok, 2 invalid stack file or config (every problem named), 1 anything else.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { planFiles } from "./files";
import { loadStackConfig } from "./stackFile";
import { summarize } from "./summary";

export const USAGE = "usage: npm run plan -- <stack> [--out DIR] [--config FILE]";
/** What a plan owns inside DIR; anything else there is left alone. */
const PLAN_OUTPUTS = ["resources.json", "manifests", "bootstrap"];

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

async function plan(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: "string" }, config: { type: "string" } },
  });
  const [stack] = positionals;
  if (!stack || positionals.length > 1) {
    io.stderr(`${USAGE}\n`);
    return 1;
  }
  const file = values.config ?? `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) {
    io.stderr(`no stack file ${file} (${USAGE})\n`);
    return 1;
  }
  const cfg = loadStackConfig(file);
  const env = parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));

  // The Pulumi SDK and the providers load only here, once the config is known to be good, so a
  // refusal costs no SDK start-up. `require`, because the plan script runs under tsx's CommonJS
  // hook alone (its ESM loader would double the start-up), where import() cannot resolve .ts files.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { runPlan } = require("./plan") as typeof import("./plan");
  const { program } = require("../stacks/program") as typeof import("../stacks/program");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const result = await runPlan(stack, cfg, program);
  const out = values.out ?? join("plan", stack);
  for (const entry of PLAN_OUTPUTS) rmSync(join(out, entry), { recursive: true, force: true });
  const files = planFiles(result);
  for (const [path, text] of files) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), text);
  }
  io.stdout(summarize(result, env, cfg.placeholders));
  const count = (prefix: string) => [...files.keys()].filter((p) => p.startsWith(prefix)).length;
  io.stdout(`\nWrote ${join(out, "resources.json")}, ${count("manifests/")} manifests, ${count("bootstrap/")} bootstrap scripts\n`);
  return 0;
}

export async function planCommand(argv: string[], io: Io): Promise<number> {
  try {
    return await plan(argv, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 2;
    }
    io.stderr(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
