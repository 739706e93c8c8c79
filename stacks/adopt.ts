/**
 * `enclii:adopt` applied: every adoptable resource it names is registered with Pulumi's `import`
 * option (its write-only inputs ignored, which no import could match), so the first update takes
 * over the existing object. Names that match nothing, or a type that is not adopted this way, are
 * collected and reported together once the program has registered everything; the offline plan
 * reports them first (docs/runbooks/adoption.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { ADOPTABLE, adoptProblems } from "../model/rules/adopt";

export function adoption(adopt: Readonly<Record<string, string>>): { transformation: pulumi.ResourceTransformation; problems(): string[] } {
  const seen: { name: string; type: string }[] = [];
  return {
    transformation: ({ name, type, props, opts }) => {
      seen.push({ name, type });
      const id = adopt[name];
      const entry = ADOPTABLE[type];
      if (id === undefined || !entry || !entry.pattern.test(id)) return undefined;
      return { props, opts: pulumi.mergeOptions(opts, { import: id, ignoreChanges: entry.writeOnly }) };
    },
    problems: () => adoptProblems(adopt, seen),
  };
}
