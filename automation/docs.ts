/**
 * `npm run docs`: writes the generated files (the config reference in docs/, the contract's JSON
 * Schemas for clients) from the schemas. `test/docs.test.ts` fails when a committed page differs from what this writes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { configReference } from "../model/config/reference";
import { contractSchemas } from "../model/contractSchema";

/** Every generated file, by its path in the repository: the config reference and the contract's JSON Schemas. */
export const GENERATED_PAGES: Record<string, () => string> = {
  "docs/config.md": configReference,
  ...Object.fromEntries(Object.keys(contractSchemas()).map((path) => [path, () => contractSchemas()[path]])),
};

if (require.main === module) {
  try {
    for (const [page, render] of Object.entries(GENERATED_PAGES)) {
      mkdirSync(dirname(join(__dirname, "..", page)), { recursive: true });
      writeFileSync(join(__dirname, "..", page), render());
      process.stdout.write(`wrote ${page}\n`);
    }
  } catch (e) {
    // A schema without a description is the usual cause: say so, without a stack trace.
    console.error(`npm run docs: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
