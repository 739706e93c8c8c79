/**
 * `rebuild-first-server`: the first server of a multi-server cluster is lost for good
 * (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost). It sets `enclii:k3s.joinVia`, so the
 * program joins the new first server through a surviving one after removing the lost etcd member
 * there (components/k3s/rejoin.ts), then runs one guarded update that replaces the first server and
 * its bootstrap: the guard allows exactly those replacements, nothing else that holds data.
 */
import { BOOTSTRAP_SUFFIX } from "../../model/names";
import type { Environment } from "../../model/config/schema";
import { PLATFORM_PROJECT } from "../../model/config/tenants";
import type { OperationResult } from "../../model/controlPlane";
import { JOIN_VIA_KEY, joinViaProblem, noSurvivor, survivingServers } from "../../model/rules/joinVia";
import { FORGET_SUFFIX } from "../../components/k3s/rejoin";
import { currentImage as configValue, restoreImage as restoreConfig } from "./deploy";
import { failure, inspect, proceed, refusal, result, retrying, update, type Base, type Options } from "./operations";
import type { ControlStack } from "./workspace";

export const REBUILD_COMMAND = "rebuild-first-server";

/**
 * The names the program gives what is replaced (stacks/program.ts's Platform "enclii", its CloudPool
 * `-cloud` and K3sCluster `-k3s`); test/control-rebuild.test.ts holds them to the offline plan's URNs.
 */
const PLATFORM = "enclii:platform:Platform";
const SERVER = `${PLATFORM}$enclii:hetzner:CloudPool$hcloud:index/server:Server`;
const COMMAND = `${PLATFORM}$enclii:k3s:K3sCluster$command:remote:Command`;
const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::${PLATFORM_PROJECT}::${type}::${name}`;

/** What the update replaces: the first server (a cloud server; a dedicated host is reinstalled by hand) and its bootstrap. */
export function replacedUrns(stack: string, first: Environment["nodes"][number]): string[] {
  return [
    ...(first.kind === "cloud" ? [urn(stack, SERVER, `enclii-cloud-${first.name}`)] : []),
    urn(stack, COMMAND, `enclii-k3s-${first.name}${BOOTSTRAP_SUFFIX}`),
  ];
}

/** The server to join through, or why there is none: the default is the second server. */
export function chooseVia(env: Environment, via?: string): { via?: string; problem?: string } {
  const lonely = noSurvivor(env.nodes);
  if (lonely) return { problem: `${env.stack} has one server: ${lonely}` };
  const chosen = via ?? survivingServers(env.nodes)[0];
  const problem = joinViaProblem(chosen, env.nodes);
  return problem ? { problem: `--via: ${problem}` } : { via: chosen };
}

/** What the command does, in order, as it prints it before doing it. */
export function rebuildSteps(env: Environment, via: string, replace: readonly string[]): string[] {
  const first = env.nodes[0].name;
  return [
    `${env.stack}: rebuilding the first server ${first}, joining it to the cluster through ${via}`,
    `1. set ${JOIN_VIA_KEY} = ${via} in Pulumi.${env.stack}.yaml: ${first} joins instead of starting etcd anew, from now on`,
    `2. preview, replacing (and allowing the guard to replace) exactly:${replace.map((u) => `\n     ${u}`).join("")}`,
    `3. update: the new ${first}; on ${via}, enclii-k3s-${first}${FORGET_SUFFIX} deletes the lost Node and waits until etcd has forgotten its member; ` +
      `${first}'s bootstrap joins through ${via}; then every other node's bootstrap, in order (their API address is new)`,
  ];
}

/**
 * A protected first server (`enclii:protect`): the engine refuses to replace it while both the state
 * and the program protect it (pkg/resource/deploy/step_generator.go, "we do allow unprotecting and
 * replacing to happen in a single update"), so the state's flag comes off first; the program protects
 * the new server again.
 */
export function unprotectHint(stack: string, urn: string): string {
  return `the first server is protected: pulumi state unprotect --stack ${stack} '${urn}', then run ${REBUILD_COMMAND} again (the new server is protected again)`;
}

/** What is left for a person once the update is done (the runbook's checks). */
const AFTERWARDS =
  "then check the Longhorn volumes' replicas and PostgreSQL's WAL archiving (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost), and commit the stack file";

/** `open` is called once the arguments are good: a usage error needs no stack. */
export async function rebuildFirstServer(
  open: () => Promise<ControlStack>,
  o: Options,
  base: Base,
  env: Environment,
  asked?: string,
): Promise<OperationResult> {
  const { via, problem } = chooseVia(env, asked);
  if (!via) return result(base, "usage", problem!);
  const replace = replacedUrns(env.stack, env.nodes[0]);
  for (const line of rebuildSteps(env, via, replace)) o.report?.(line);
  const stack = await open();
  const previous = await configValue(stack, JOIN_VIA_KEY);
  await stack.setConfig(JOIN_VIA_KEY, { value: via, secret: false }, true);
  const changedFiles = [`Pulumi.${env.stack}.yaml`];
  // Nothing ran: the stack file goes back as it was, so "nothing was changed" stays true.
  const undo = async (): Promise<string> => {
    await restoreConfig(stack, JOIN_VIA_KEY, previous);
    return `Pulumi.${env.stack}.yaml is back as it was (${JOIN_VIA_KEY} ${previous === undefined ? "unset" : `= ${previous}`})`;
  };
  const guarded = { ...o, allow: new Set(replace) };
  let started = false;
  try {
    const outcome = await retrying(stack.name, guarded, async () => {
      const found = await inspect(stack, guarded, { replace });
      if (found.violations.length > 0) return { refused: refusal(base, found.violations, found), protectedUrns: found.protectedUrns };
      proceed(found);
      started = true;
      o.report?.(`${stack.name}: ${found.changing.length} resource(s) to change`);
      return { changes: await update(stack, guarded, { total: found.changing.length, message: `${REBUILD_COMMAND} via ${via}`, replace }) };
    });
    if (outcome.refused) {
      const locked = replace.filter((u) => outcome.protectedUrns.includes(u));
      const hint = locked.map((u) => `\n${unprotectHint(env.stack, u)}`).join("");
      return { ...outcome.refused, message: `${outcome.refused.message}${hint}\n${await undo()}` };
    }
    return result(base, "ok", `${stack.name}: ${env.nodes[0].name} rebuilt and joined through ${via}; ${AFTERWARDS}`, {
      changes: outcome.changes,
      changedFiles,
    });
  } catch (err) {
    const res = failure(base, err);
    // Once the update has begun the stack file is the record of what it was doing.
    if (started)
      return {
        ...res,
        message: `${res.message}\n${JOIN_VIA_KEY} stays ${via}; once the new ${env.nodes[0].name} exists, enclii-infra up --env ${env.stack} finishes the rest (before that, ${REBUILD_COMMAND} again)`,
        changedFiles,
      };
    return { ...res, message: `${res.message}\n${await undo()}` };
  }
}
