/** `drill <stack> [--config FILE] [--run]`: prints the restore drill's script, or runs it with bash. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { EXIT } from "../model/controlPlane";
import { SPEC_DIR } from "../model/services";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { readSpecFiles } from "../stacks/specs";
import type { Io } from "./control/commands";
import { renderDrillScript } from "./drill";
import { loadStackConfig } from "./stackFile";

/** What the script runs besides bash's own builtins and coreutils. */
const TOOLS = ["kubectl", "jq"];

const onPath = (tool: string) => (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, tool)));

export async function drillCommand(stack: string, opts: { config?: string; run?: boolean }, io: Io, root: string): Promise<number> {
  const file = resolve(root, opts.config ?? `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) {
    io.stderr(`no stack file ${file}\n`);
    return EXIT.usage;
  }
  let script: string;
  try {
    const cfg = loadStackConfig(file);
    script = renderDrillScript(parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(join(root, SPEC_DIR))));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return EXIT.usage;
  }
  if (!opts.run) {
    io.stdout(script);
    return EXIT.ok;
  }
  const missing = TOOLS.filter((t) => !onPath(t));
  if (missing.length > 0) {
    io.stderr(`drill --run needs ${missing.join(" and ")} on PATH (and KUBECONFIG for ${stack})\n`);
    return EXIT.usage;
  }
  const run = spawnSync("bash", ["-s"], { input: script, stdio: ["pipe", "inherit", "inherit"] });
  return run.status ?? EXIT.failed;
}
