/**
 * The contract as JSON Schema (draft 2020-12), rendered from the zod schemas it is written in, so
 * a client in another language holds the same types: the result every `--json` command prints,
 * and the stack config keys the control plane writes. `npm run docs` writes them under
 * clients/go/enclii-infra/schema/, where the Go client embeds them; test/docs.test.ts fails when
 * the committed files differ.
 */
import { z } from "zod";
import { CONTRACT_VERSION, operationResultSchema } from "./contract";
import { imageReferencePattern } from "./imageReference";
import { NAMESPACE } from "./config/schema";
import { TENANTS_KEY, shardTenants } from "./config/tenants";
import { rotationsSchema } from "./rotation";

export const SCHEMA_DIR = "clients/go/enclii-infra/schema";

/** Config the control plane writes (model/controlPlane.ts WRITABLE_CONFIG), as keys of a stack file's `config:`. */
const writableConfig = z
  .strictObject({
    [`${NAMESPACE}:services`]: z
      .record(
        z.string().describe("a service of dogfooding/"),
        // Other keys of a service (replicas, …) are the operator's, and a service may have no override.
        z.looseObject({
          image: z.string().regex(imageReferencePattern()).optional().describe("a pinned image: name:tag (not latest) or name@sha256:…"),
          canary: z
            .looseObject({ image: z.string().regex(imageReferencePattern()).describe("the canary's pinned image") })
            .optional()
            .describe("while `deploy --canary` watches it: the canary beside the stable pods"),
        }),
      )
      .describe(
        "per service, the image override `deploy` and `rollback` write, and the canary `deploy --canary` sets and removes (platform stack files)",
      ),
    [`${NAMESPACE}:rotations`]: rotationsSchema,
    [TENANTS_KEY]: shardTenants,
  })
  .partial()
  .describe("the stack config keys the control plane writes; nothing else is its to change");

/** A pattern's leading length bound, `^(?=.{1,N}$)` (model/dnsName.ts DNS_NAME): a lookahead. */
const LENGTH_LOOKAHEAD = /^\^\(\?=\.\{1,(\d+)\}\$\)/;

/**
 * Patterns every client's regular expressions can compile: Go's RE2 has no lookahead, so a length
 * bound written as one becomes `minLength`/`maxLength` beside the rest of the pattern.
 */
function portable(node: { pattern?: string; minLength?: number; maxLength?: number }): void {
  const bound = node.pattern && LENGTH_LOOKAHEAD.exec(node.pattern);
  if (!node.pattern || !bound) return;
  node.pattern = `^${node.pattern.slice(bound[0].length)}`;
  node.minLength = Math.max(node.minLength ?? 0, 1);
  node.maxLength = Math.min(node.maxLength ?? Infinity, Number(bound[1]));
}

function render(schema: z.ZodType, id: string, title: string): string {
  // Input shapes: the tenants' schema transforms what it reads (a hostname lower-cased), and a
  // writer must produce what it accepts.
  const json = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", override: ({ jsonSchema }) => portable(jsonSchema) });
  return `${JSON.stringify({ $id: id, title, "x-contract-version": CONTRACT_VERSION, ...json }, null, 2)}\n`;
}

/** Each schema file, by its path in the repository. */
export function contractSchemas(): Record<string, string> {
  return {
    [`${SCHEMA_DIR}/result.schema.json`]: render(operationResultSchema, "result.schema.json", "enclii-infra --json result"),
    [`${SCHEMA_DIR}/config.schema.json`]: render(writableConfig, "config.schema.json", "config the enclii-infra control plane writes"),
  };
}
