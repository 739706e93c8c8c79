/**
 * Checks of `enclii-infra`'s option values, run by commander as it parses (a bad value is a usage
 * error, exit 2, naming the option and the value, before anything loads or opens). Each throws
 * commander's InvalidArgumentError with what the value must be.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import { changedPathProblem } from "../model/deployRules";

const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;

/** `--env`: a platform stack whose stack file is in `root`, never a path that leads elsewhere. */
export function environmentArg(root: string): (value: string) => string {
  return (value) => {
    const known = existsSync(root) ? readdirSync(root).flatMap((f) => STACK_FILE.exec(f)?.[1] ?? []) : [];
    if (!known.includes(value))
      throw new InvalidArgumentError(
        `no stack file Pulumi.${value}.yaml in ${root} (its environments: ${known.sort().join(", ") || "none"})`,
      );
    return value;
  };
}

/** `--stacks a,b` of `pr-comment`: each a platform stack with its stack file in `root`. */
export function stackListArg(root: string): (value: string) => string {
  const environment = environmentArg(root);
  return (value) => {
    for (const stack of value.split(",")) environment(stack);
    return value;
  };
}

/** `--config <file>` of `drill`: a file that is there, relative to `root`. */
export function stackFileArg(root: string): (value: string) => string {
  return (value) => {
    const file = resolve(root, value);
    if (!existsSync(file) || !statSync(file).isFile()) throw new InvalidArgumentError(`no stack file ${file}`);
    return value;
  };
}

/** Pulumi's name grammar for a URN's stack and project (pulumi/pulumi sdk/go/common/tokens/names.go `IsName`). */
const URN_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * `--allow <urn>`, repeatable: a URN as the engine parses one (sdk/go/common/resource/urn.go
 * `URN.IsValid`: `urn:pulumi:<stack>::<project>::<type>::<name>`, the name free to hold `::`),
 * with a type and a name; anything else could never match a step, so the guard would refuse anyway.
 */
export function allowArg(value: string, previous: string[]): string[] {
  const parts = value.startsWith("urn:pulumi:") ? value.slice("urn:pulumi:".length).split("::") : [];
  const [stack, project, type] = parts;
  if (parts.length < 4 || !URN_NAME.test(stack) || !URN_NAME.test(project) || !type || !parts.slice(3).join("::"))
    throw new InvalidArgumentError("a resource URN: urn:pulumi:<stack>::<project>::<type>::<name>, as the guard's message prints it");
  return [...previous, value];
}

/** `--changed <path>`, repeatable: a path as git names one, relative to the repository. */
export function changedArg(value: string, previous: string[]): string[] {
  const problem = changedPathProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return [...previous, value];
}
