/** `drill <stack> [--config FILE] [--run]`: prints the restore drill's script, or runs it with bash. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { EXIT } from "../model/controlPlane";
import { ConfigError } from "../stacks/config";
import type { Io } from "./control/commands";
import { loadEnvironment } from "./control/environment";
import { UsageError } from "./control/errors";
import { renderDrillScript } from "./drill";

/** What the script runs besides bash's own builtins and coreutils. */
const TOOLS = ["kubectl", "jq"];

const onPath = (tool: string) => (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, tool)));

export async function drillCommand(stack: string, opts: { config?: string; run?: boolean }, io: Io, root: string): Promise<number> {
  let script: string;
  try {
    script = renderDrillScript(loadEnvironment(root, stack, opts.config && resolve(root, opts.config)));
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof UsageError)) throw err;
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
