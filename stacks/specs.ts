/** Reads the service specs the program deploys: every `dogfooding/*.yaml`, named as errors name them. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SPEC_DIR, type SpecFile } from "../model/config/services";

export const DOGFOODING_DIR = join(__dirname, "..", SPEC_DIR);

/** The spec files in `dir`, sorted. */
export function readSpecFiles(dir: string): SpecFile[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ file: `${SPEC_DIR}/${f}`, text: readFileSync(join(dir, f), "utf8") }));
}
