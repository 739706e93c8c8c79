/**
 * The real engine's events as test/engine.real.test.ts compares them with the stand-in's event
 * logs (testbed/pulumi/events): what each event says of each resource, and how a run ends.
 */
import type { EngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation";

/**
 * Events as the comparisons see them: per URN, in order, which event carried which op, keys,
 * diffs and detailed diff, and whether it had an old and a new state; the rest (prelude, error
 * diagnostics and whether they name a resource, the summary's counts, cancel) in order. Times, sequence numbers, states' values and message texts are left out: they differ
 * between runs. Resources are grouped by URN since the engine steps through independent resources
 * in parallel, so their events interleave differently from run to run.
 */
export interface Shape {
  resources: Record<string, string[]>;
  others: string[];
}

const STEP_EVENTS = ["resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"] as const;

export function shapeOf(events: readonly EngineEvent[]): Shape {
  const shape: Shape = { resources: {}, others: [] };
  /** Where the summaries are in `others`: written once the whole run is seen. */
  const summaries: number[] = [];
  for (const e of events) {
    const kind = Object.keys(e).find((k) => k !== "sequence" && k !== "timestamp")!;
    const step = STEP_EVENTS.includes(kind as (typeof STEP_EVENTS)[number])
      ? (e as unknown as Record<string, { metadata: StepEventMetadata }>)[kind].metadata
      : undefined;
    if (step) {
      const detailed = Object.entries(step.detailedDiff ?? {})
        .map(([path, d]) => `${path}:${d.diffKind}${d.inputDiff ? "" : "(output)"}`)
        .sort();
      const parts = [
        kind,
        step.op,
        `keys=${[...(step.keys ?? [])].sort()}`,
        `diffs=${[...(step.diffs ?? [])].sort()}`,
        `detailed=${detailed}`,
      ];
      parts.push(`old=${step.old ? "yes" : "no"}`, `new=${step.new ? "yes" : "no"}`);
      (shape.resources[step.urn] ??= []).push(parts.join(" "));
    } else if (e.diagnosticEvent) {
      // Errors only: the rest is the SDK's debug log and notes about this machine's plugins.
      if (e.diagnosticEvent.severity === "error")
        shape.others.push(`diagnosticEvent error ${e.diagnosticEvent.urn ? "names a resource" : "names none"}`);
    } else if (e.summaryEvent) {
      summaries.push(shape.others.length);
      shape.others.push(JSON.stringify(e.summaryEvent.resourceChanges ?? {}));
    } else shape.others.push(kind);
  }
  // A failed run stops stepping at the failure while the program is still registering
  // (pkg/resource/deploy/deployment_executor.go: a failed step cancels the executor, and
  // registrations arriving after it get no step), so which unchanged resources were announced
  // before then, and the summary's `same` count, depend on timing: seen as 13 or 14 of the same
  // preview. What changes, and how the run ends, do not.
  const failed = shape.others.some((o) => o.startsWith("diagnosticEvent error"));
  if (failed) {
    for (const [urn, lines] of Object.entries(shape.resources))
      if (lines.every((l) => l.split(" ")[1] === "same")) delete shape.resources[urn];
  }
  for (const at of summaries) {
    const counts = Object.entries(JSON.parse(shape.others[at]) as Record<string, number>)
      .filter(([op]) => !(failed && op === "same"))
      .sort(([a], [b]) => a.localeCompare(b));
    shape.others[at] = `summaryEvent ${counts.map(([op, n]) => `${op}=${n}`).join(",")}`;
  }
  return shape;
}

/**
 * Where logs the real engine did not produce step unlike it: each resource's events must step as
 * some resource's in `real` did, and each log must end (prelude, errors, summary, cancel) as some
 * run did. Which keys, properties and values are the log's own; whether `diffs` lists top-level
 * keys is the provider's choice (pulumi-kubernetes lists none), not the engine's.
 */
export function unlike(logs: Record<string, readonly EngineEvent[]>, real: readonly (readonly EngineEvent[])[]): string[] {
  const skeleton = (lines: string[]) =>
    lines
      .map((l) => l.replace(/ diffs=\S*/, "").replace(/(keys|detailed)=(\S*)/g, (_, k: string, v: string) => `${k}=${v ? "some" : "none"}`))
      .join(" | ");
  const ends = (s: Shape) => s.others.map((o) => o.replace(/^summaryEvent .*/, "summaryEvent")).join(" | ");
  const shapes = real.map(shapeOf);
  const steps = new Set(shapes.flatMap((s) => Object.values(s.resources).map(skeleton)));
  const endings = new Set(shapes.map(ends));
  const found: string[] = [];
  for (const [file, events] of Object.entries(logs)) {
    const shape = shapeOf(events);
    for (const [urn, lines] of Object.entries(shape.resources))
      if (!steps.has(skeleton(lines))) found.push(`${file} ${urn}: ${skeleton(lines)}`);
    if (!endings.has(ends(shape))) found.push(`${file} ends: ${ends(shape)}`);
  }
  return found;
}
