#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * `enclii-infra`'s entry (package.json `bin`, and `npm run plan`): runs the bundled CLI (dist/cli.js), building it first when it is
 * missing or older than its sources, so an edit is never planned with a stale bundle.
 *
 * V8 compiles the 10 MB bundle on every start unless given its code cache, which Node 20 does
 * not keep for CommonJS; so the launcher compiles the bundle itself with the cache it wrote on
 * an earlier run (dist/cli.js.cache), and writes a new one at exit when there was none or V8
 * refused it (a rebuilt bundle or another Node).
 *
 * Node 22+ keeps a code cache of its own (module.enableCompileCache), used here for what the
 * bundle requires from node_modules as it runs: the Automation API of the control-plane
 * commands, some 750 files that then load in about 0.3 s instead of 0.5. Not for the bundle:
 * Node writes a module's cache as it compiles it, so the bundle's would hold little more than
 * its top level (1 MB against this launcher's 4 MB, and a plan starting 0.1 to 0.2 s later).
 */
const Module = require("node:module");

// Called without a directory so that NODE_COMPILE_CACHE can move it (by default under the
// temporary directory) and NODE_DISABLE_COMPILE_CACHE turn it off; a failure only costs the speed.
Module.enableCompileCache?.();

const { readFileSync, renameSync, writeFileSync } = require("node:fs");
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
