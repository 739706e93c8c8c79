/**
 * How problems read, for config keys, spec files and key sets alike: one wording per kind.
 *
 *   missing       `is required` (`is required: one of "a", "b"` when the choices are known)
 *   unknown       `unknown field "x"; did you mean "y"?`
 *   wrong type    `must be a number, not text`
 *   out of range  `must be at most 100`, `must be at most 253 characters`, `must have at most 50 items`
 *   not one of    `must be one of "a", "b"`
 *
 * Messages describe what was given by its type, never by its value: a value may be a secret.
 */
import { closest, distance } from "fastest-levenshtein";
import type { z } from "zod";
import { renderProblem, type Problem } from "../problem";

/** `nodes[1].serverType`: dots between fields, brackets for list items. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** A name within two edits of `word`, or the same but for case; undefined when nothing is that close. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const folded = candidates.find((c) => c.toLowerCase() === word.toLowerCase());
  if (folded) return folded;
  const best = closest(word, [...candidates]);
  return distance(word, best) <= 2 ? best : undefined;
}

const quoted = (values: readonly unknown[]) => values.map((v) => JSON.stringify(v)).join(", ");

const TYPE_NAMES: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "an object (fields)",
  record: "an object (fields)",
};

/** What was given, by type only. */
function describe(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "number") return Number.isInteger(input) ? "a whole number" : Number.isFinite(input) ? "a number" : String(input);
  if (typeof input === "string") return "text";
  if (typeof input === "boolean") return "true or false";
  if (typeof input === "object") return "an object";
  return typeof input;
}

/** zod's own texts start like this; anything else is a message the schema chose, which says more. */
const DEFAULT_MESSAGE = /^(Invalid|Too (big|small)|Expected)/;

function rangeMessage(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const big = issue.code === "too_big";
  const bound = Number(big ? issue.maximum : issue.minimum);
  const exclusive = !issue.inclusive;
  const limit = exclusive ? (big ? `less than ${bound}` : `more than ${bound}`) : big ? `at most ${bound}` : `at least ${bound}`;
  switch (issue.origin) {
    case "string":
      return !big && bound === 1 ? "must not be empty" : `must be ${limit} characters long`;
    case "array":
    case "set":
      return !big && bound === 1 ? "needs at least one item" : `must have ${limit} items`;
    default:
      return `must be ${limit}`;
  }
}

/** One issue's text (its path is the caller's). Parse with `{ reportInput: true }` so a missing value reads as missing. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return "is required";
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, not ${describe(input)}`;
    case "too_big":
    case "too_small":
      return DEFAULT_MESSAGE.test(issue.message) ? rangeMessage(issue) : issue.message;
    case "invalid_value":
      if (input === undefined) return "is required";
      if (!DEFAULT_MESSAGE.test(issue.message)) return issue.message;
      return issue.values.length === 1 ? `must be ${quoted(issue.values)}` : `must be one of ${quoted(issue.values)}`;
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options;
      if (!("discriminator" in issue) || !options)
        return DEFAULT_MESSAGE.test(issue.message) ? "is not any of the accepted forms" : issue.message;
      // The issue's input is the whole object the union was given; the discriminator is one field of it.
      const given = input !== null && typeof input === "object" ? (input as Record<string, unknown>)[String(issue.discriminator)] : input;
      return given === undefined ? `is required: one of ${quoted(options)}` : `must be one of ${quoted(options)}`;
    }
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${quoted(issue.keys)}`;
    default:
      return DEFAULT_MESSAGE.test(issue.message) ? `is not valid (${issue.code.replace(/_/g, " ")})` : issue.message;
  }
}

/** The field names an object schema accepts at `path` (every option of a union), for suggestions. */
export function fieldsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const inner = (s: unknown) => fieldsAt(s as z.core.$ZodType, path);
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return inner(def.innerType);
    case "pipe":
      return inner(def.in);
    case "union":
      return [...new Set((def.options as z.core.$ZodType[]).flatMap((o) => fieldsAt(o, path)))];
    case "array":
      return typeof path[0] === "number" ? fieldsAt(def.element as z.core.$ZodType, path.slice(1)) : [];
    case "record":
      return path.length > 0 ? fieldsAt(def.valueType as z.core.$ZodType, path.slice(1)) : [];
    case "object": {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? fieldsAt(next, path.slice(1)) : [];
    }
    default:
      return [];
  }
}

/** Every issue as a problem at `where(path)`, coded as zod codes it; unknown fields with a suggestion when one is close. */
export function issueProblems(
  schema: z.core.$ZodType,
  issues: readonly z.core.$ZodIssue[],
  where: (path: PropertyKey[]) => string,
): Problem[] {
  return issues.flatMap((issue) => {
    const at = { where: where(issue.path), code: issue.code };
    if (issue.code !== "unrecognized_keys") return [{ ...at, message: issueMessage(issue) }];
    const known = fieldsAt(schema, issue.path);
    return issue.keys.map((key) => {
      const hint = didYouMean(key, known);
      return { ...at, message: `unknown field ${JSON.stringify(key)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}` };
    });
  });
}

/** Every issue as `<where>: <message>` (see issueProblems). */
export function describeIssues(
  schema: z.core.$ZodType,
  issues: readonly z.core.$ZodIssue[],
  where: (path: PropertyKey[]) => string,
): string[] {
  return issueProblems(schema, issues, where).map(renderProblem);
}
