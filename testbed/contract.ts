/**
 * The contract's JSON Schema as a client holds it: the committed file (clients/go/enclii-infra/
 * schema/result.schema.json, what the Go client embeds), compiled by Ajv, a validator of another
 * code base than the zod that rendered it. Tests that read a `--json` result check it here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { SCHEMA_DIR } from "../model/contractSchema";

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
addFormats(ajv);
// The version the files were rendered at (model/contractSchema.ts), an annotation of ours.
ajv.addVocabulary(["x-contract-version"]);
const schemaOf = (file: string) => JSON.parse(readFileSync(join(__dirname, "..", SCHEMA_DIR, file), "utf8")) as object;
const results = ajv.compile(schemaOf("result.schema.json"));
const config = ajv.compile(schemaOf("config.schema.json"));

const problems = (errors: typeof results.errors) => (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);

/** Why `text` (a command's stdout) is not one result the schema accepts; empty when it is. */
export function resultProblems(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return [`not one JSON object: ${(err as Error).message}`];
  }
  return results(value) ? [] : problems(results.errors);
}

/** Why `value` (a stack file's `config:`) is not config the control plane may write; empty when it is. */
export function configProblems(value: unknown): string[] {
  return config(value) ? [] : problems(config.errors);
}
