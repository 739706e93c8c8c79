/**
 * enclii-infra CLI. `plan <stack> [--out DIR] [--config FILE]` runs the offline plan: the real
 * program under Pulumi's mocks, no credentials, deterministic output.
 * Exit status: 0 ok, 2 invalid config (every bad key named), 1 anything else.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { planFiles } from "./files";
import { loadStackConfig, runPlan } from "./plan";
import { summarize } from "./summary";

const USAGE = "usage: npm run plan -- <stack> [--out DIR] [--config FILE]";
/** What a plan owns inside DIR; anything else there is left alone. */
const PLAN_OUTPUTS = ["resources.json", "manifests", "bootstrap"];

async function plan(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: "string" }, config: { type: "string" } },
  });
  const [stack] = positionals;
  if (!stack || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return 1;
  }
  const file = values.config ?? `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) {
    process.stderr.write(`no stack file ${file} (${USAGE})\n`);
    return 1;
  }
  const cfg = loadStackConfig(file);
  const env = parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
  const result = await runPlan(stack, cfg);

  const out = values.out ?? join("plan", stack);
  for (const entry of PLAN_OUTPUTS) rmSync(join(out, entry), { recursive: true, force: true });
  const files = planFiles(result);
  for (const [path, text] of files) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), text);
  }
  process.stdout.write(summarize(result, env, cfg.placeholders));
  const count = (prefix: string) => [...files.keys()].filter((p) => p.startsWith(prefix)).length;
  process.stdout.write(
    `\nWrote ${join(out, "resources.json")}, ${count("manifests/")} manifests, ${count("bootstrap/")} bootstrap scripts\n`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "plan") return plan(rest);
  process.stderr.write(`${USAGE}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
