#!/usr/bin/env node
/**
 * `enclii-infra`'s entry (package.json `bin`, and `npm run plan`): runs the bundled CLI (dist/cli.js), building it first when it is
 * missing or older than its sources, so an edit is never planned with a stale bundle.
 *
 * V8 compiles the 10 MB bundle on every start unless given its code cache, which Node 20 does
 * not keep for CommonJS; so the launcher compiles the bundle itself with the cache it wrote on
 * an earlier run (dist/cli.js.cache), and writes a new one at exit when there was none or V8
 * refused it (a rebuilt bundle).
 */
const { readFileSync, renameSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { dirname } = require("node:path");
const vm = require("node:vm");
const { build, isStale, OUTFILE } = require("./bundle.cjs");

const CACHE = `${OUTFILE}.cache`;

function run(file) {
  let cachedData;
  try {
    cachedData = readFileSync(CACHE);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit the cache holds the functions the run compiled too, not only the top level.
    process.on("exit", () => {
      const partial = `${CACHE}.${process.pid}.tmp`;
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, CACHE);
    });
  }
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dirname(file));
}

(isStale() ? build() : Promise.resolve(OUTFILE)).then(run, (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
