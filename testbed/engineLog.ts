/**
 * What the engine touched in each preview and update, read from its own verbose log: a `pulumi` on
 * PATH ahead of the real one (testbed/cliFixture.ts `engineLog`) runs every `preview` and `up` with
 * `--verbose=7`, its log in a directory of its own (the CLI writes it to the temporary directory,
 * sdk/go/common/util/logging/log.go `logFileName`). At that level the engine's provider client
 * logs each call it makes, `Provider[0x…].Check(<urn>) executing` and `….Diff(<urn>,<id>)
 * executing` (pulumi/pkg resource/plugin/provider_plugin.go), and the step generator each resource
 * it left out, "Planner decided not to update '<urn>' due to not being in target group"
 * (resource/deploy/step_generator.go `generateResourceSteps`), and each step it generated, "Checking
 * step <op> for <urn>" (`validateSteps`): exact counts, whatever the timing. Providers, which the
 * engine always includes, are left out of the counts.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The verbosity at which the provider client and the step generator log the calls above. */
const VERBOSITY = 7;

export interface EngineRun {
  /** `preview` or `up`. */
  command: string;
  /** Resources whose provider Check or Diff the engine called, sorted. */
  touched: string[];
  /** Resources whose provider Read the engine called (a refresh's), sorted. */
  read: string[];
  /** Resources the engine left out as not targeted. */
  untargeted: string[];
  /** The steps it generated, by op. */
  steps: Record<string, number>;
  /** From its log's first line to its last. */
  ms: number;
}

/**
 * Installs the logging `pulumi` in `dir`/bin, in front of `path` (the PATH the real CLI runs with);
 * returns the PATH for the caller's processes. Each preview or update logs into `dir`/runs/<ns>/.
 */
export function installEngineLog(dir: string, path: string): string {
  const bin = join(dir, "bin");
  const runs = join(dir, "runs");
  mkdirSync(bin, { recursive: true });
  mkdirSync(runs, { recursive: true });
  // Named by the clock in nanoseconds, so the directories sort in the order the commands ran.
  writeFileSync(
    join(bin, "pulumi"),
    [
      "#!/bin/sh",
      `PATH='${path}'`,
      "export PATH",
      'case "$1" in',
      "  preview|up)",
      `    run='${runs}'/$(date +%s%N)`,
      '    mkdir "$run"',
      '    printf "%s" "$1" > "$run/command"',
      `    TMPDIR="$run" exec pulumi "$@" --verbose=${VERBOSITY} ;;`,
      "esac",
      'exec pulumi "$@"',
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return [bin, path].join(delimiter);
}

const URN = String.raw`urn:pulumi:[^,)'\s"\\]+`;
const CALL = new RegExp(String.raw`\.(?:Check|Diff)\((${URN})`, "g");
const READ = new RegExp(String.raw`\.Read\([^,]*,(${URN})\)`, "g");
const LEFT_OUT = new RegExp(`Planner decided not to update '(${URN})' due to not being in target group`, "g");
const STEP = new RegExp(`Checking step (\\S+) for (${URN})`, "g");
const PROVIDER = "::pulumi:providers:";
/** Each line of the log is a JSON record stamped with its time. */
const TIME = /^\{"time":"([^"]+)"/gm;

/** Every preview and update logged in `dir` (installEngineLog), in the order they ran. */
export function engineRuns(dir: string): EngineRun[] {
  const runs = join(dir, "runs");
  return readdirSync(runs)
    .sort()
    .map((name) => {
      const run = join(runs, name);
      const log = readdirSync(run)
        .filter((f) => f.startsWith("pulumi."))
        .map((f) => readFileSync(join(run, f), "utf8"))
        .join("\n");
      const urns = (re: RegExp) => [...new Set([...log.matchAll(re)].map((m) => m[1]))].filter((u) => !u.includes(PROVIDER)).sort();
      const steps: Record<string, number> = {};
      for (const [, op, urn] of new Map([...log.matchAll(STEP)].map((m) => [`${m[1]} ${m[2]}`, m])).values())
        if (!urn.includes(PROVIDER)) steps[op] = (steps[op] ?? 0) + 1;
      const times = [...log.matchAll(TIME)].map((m) => Date.parse(m[1])).sort((a, b) => a - b);
      return {
        command: readFileSync(join(run, "command"), "utf8"),
        touched: urns(CALL),
        read: urns(READ),
        untargeted: urns(LEFT_OUT),
        steps,
        ms: times.length > 0 ? times[times.length - 1] - times[0] : 0,
      };
    });
}
