/** A platform stack's config read and checked as the program would, loading no Pulumi SDK. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Environment } from "../../model/schema";
import { SPEC_DIR } from "../../model/services";
import { parseEnvironment } from "../../stacks/config";
import { readSpecFiles } from "../../stacks/specs";
import { loadStackConfig } from "../stackFile";
import { UsageError } from "./errors";

export function loadEnvironment(root: string, environment: string): Environment {
  const file = join(root, `Pulumi.${environment}.yaml`);
  if (!existsSync(file)) throw new UsageError(`--env: no stack file Pulumi.${environment}.yaml in ${root}`);
  const cfg = loadStackConfig(file);
  return parseEnvironment(environment, cfg.config, new Set(cfg.secretKeys), readSpecFiles(join(root, SPEC_DIR)));
}
