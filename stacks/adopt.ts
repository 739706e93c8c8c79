/**
 * `enclii:adopt` applied: every adoptable resource it names is registered with Pulumi's `import`
 * option (its write-only inputs ignored, which no import could match), so the first update takes
 * over the existing object. Names that match nothing, a type that is not adopted this way, or an id
 * under another zone, account or jurisdiction than the stack's are collected and reported together
 * once the program has registered everything; the offline plan reports them first
 * (docs/runbooks/adoption.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { ADOPTABLE, adoptProblems, type AdoptScope, type Registered } from "../model/rules/adopt";

export function adoption(
  adopt: Readonly<Record<string, string>>,
  stack: AdoptScope,
): { transformation: pulumi.ResourceTransformation; problems(): string[] } {
  const seen: Registered[] = [];
  return {
    transformation: ({ name, type, props, opts }) => {
      const id = adopt[name];
      // The inputs only of adopted resources: their ids are checked against them (a bucket's name).
      seen.push({ name, type, inputs: id === undefined ? undefined : props });
      const entry = ADOPTABLE[type];
      if (id === undefined || !entry || !entry.pattern.test(id)) return undefined;
      return { props, opts: pulumi.mergeOptions(opts, { import: id, ignoreChanges: entry.writeOnly }) };
    },
    problems: () => adoptProblems(adopt, seen, stack),
  };
}
