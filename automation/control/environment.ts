/** A platform stack's config read and checked as the program would, loading no Pulumi SDK. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Environment } from "../../model/config/schema";
import { SPEC_DIR } from "../../model/config/services";
import { parseEnvironment } from "../../stacks/config";
import { readSpecFiles } from "../../stacks/specs";
import { loadStackConfig } from "../stackFile";
import { UsageError } from "./errors";

/** `file`: a stack file other than `Pulumi.<environment>.yaml` in `root`. */
export function loadEnvironment(root: string, environment: string, file = join(root, `Pulumi.${environment}.yaml`)): Environment {
  if (!existsSync(file)) throw new UsageError(`no stack file ${file}`);
  const cfg = loadStackConfig(file);
  return parseEnvironment(environment, cfg.config, new Set(cfg.secretKeys), readSpecFiles(join(root, SPEC_DIR)));
}
