/**
 * `npm run docs`: writes the generated pages of docs/ (today the config reference) from the
 * schemas. `test/docs.test.ts` fails when a committed page differs from what this writes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configReference } from "../model/config/reference";

export const GENERATED_PAGES: Record<string, () => string> = { "docs/config.md": configReference };

if (require.main === module) {
  try {
    for (const [page, render] of Object.entries(GENERATED_PAGES)) {
      writeFileSync(join(__dirname, "..", page), render());
      process.stdout.write(`wrote ${page}\n`);
    }
  } catch (e) {
    // A schema without a description is the usual cause: say so, without a stack trace.
    console.error(`npm run docs: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
