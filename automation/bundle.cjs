/**
 * Builds the plan CLI into one CommonJS file, `dist/cli.js`, with esbuild: run by `npm ci`
 * (the `prepare` script) and again by `automation/launch.cjs` whenever a source is newer than
 * the bundle. Never committed (`dist/` is ignored).
 *
 * A mocked run never serialises closures, hosts a provider or drives the Pulumi CLI, yet
 * `@pulumi/pulumi`'s index loads the modules that do, and with them TypeScript (9 MB), npm's
 * package tooling and source-map support: most of a plan's start-up. Those modules are replaced
 * by stubs that throw on first use, so a plan that ever reached one would fail rather than
 * differ. Which modules they are is SDK internals, hence the pin: a different SDK version
 * refuses to build until the list is checked again (test/sdk-internals.test.ts runs every stack's plan
 * through the bundle and compares it with the TypeScript sources' plan).
 */
const { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } = require("node:fs");
const { dirname, join, relative } = require("node:path");

const ROOT = join(__dirname, "..");
const OUTFILE = join(ROOT, "dist", "cli.js");
/** The SDK version the stub list below was checked against. */
const PULUMI_SDK_VERSION = "3.270.0";
/** `@pulumi/pulumi` modules a mocked plan never uses, relative to the package. */
const STUBBED = [
  "automation/index.js",
  "provider/index.js",
  "runtime/closure/serializeClosure.js",
  "runtime/closure/codePaths.js",
  "typescript-shim.js",
];
/** What the bundle is built from: a newer file here makes the launcher rebuild. */
const SOURCES = ["automation", "components", "model", "stacks", "package-lock.json"];

function sdkVersion() {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version;
}

/**
 * The stub's text. The SDK's index copies some exports eagerly (`exports.x = stub.x`), so reading
 * one is allowed; calling it throws, naming the module and why it is missing.
 */
function stubSource(module) {
  const message = `@pulumi/pulumi/${module} is left out of the offline planner's bundle (automation/bundle.cjs): a mocked plan must not use it`;
  return (
    `module.exports = new Proxy({}, { get(_, key) { if (key === "__esModule" || key === "then" || typeof key === "symbol") return undefined; ` +
    `return function () { throw new Error(${JSON.stringify(message)} + " (" + String(key) + ")"); }; } });`
  );
}

const stubPlugin = {
  name: "enclii-sdk-stubs",
  setup(build) {
    // esbuild names a module by its real path: node_modules may be a link (a scratch checkout's).
    const sdk = realpathSync(join(ROOT, "node_modules", "@pulumi", "pulumi"));
    const stubbed = new Set(STUBBED.map((m) => join(sdk, m)));
    build.onLoad({ filter: /[\\/]@pulumi[\\/]pulumi[\\/].*\.js$/ }, (args) =>
      stubbed.has(args.path) ? { contents: stubSource(relative(sdk, args.path)), loader: "js" } : undefined,
    );
  },
};

function newestSourceMs(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestSourceMs(join(path, entry)));
  return newest;
}

/** True when the bundle is missing or older than a source it is built from. */
function isStale() {
  let built;
  try {
    built = statSync(OUTFILE).mtimeMs;
  } catch {
    return true;
  }
  return SOURCES.some((s) => newestSourceMs(join(ROOT, s)) > built);
}

/**
 * esbuild escapes what it emits (charset "ascii") but keeps some comments as written, and one
 * character beyond Latin-1 makes V8 hold the whole source, kept for lazy compilation in every
 * process, two bytes a character: 22 MB instead of 11 for each planner. Escaped, a comment reads
 * the same and code means the same (a \u escape is valid in strings, templates, regular
 * expressions and identifiers alike).
 */
function asciiOnly(text) {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

async function build() {
  const version = sdkVersion();
  if (version !== PULUMI_SDK_VERSION) {
    throw new Error(
      `automation/bundle.cjs: its stub list was checked against @pulumi/pulumi ${PULUMI_SDK_VERSION}, ` +
        `${version} is installed; check STUBBED against the new SDK and update PULUMI_SDK_VERSION`,
    );
  }
  const esbuild = require("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(ROOT, "automation", "cli.ts")],
    outfile: OUTFILE,
    write: false,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "error",
    // The control-plane commands load the real Automation API from node_modules when they run;
    // the bundled SDK's copy stays a stub, so a plan still cannot reach it. esbuild, which lists
    // the sources a shard's plan is built from (shardInputs.ts), drives its own native binary.
    external: ["@pulumi/pulumi/automation", "esbuild"],
    plugins: [stubPlugin],
  });
  // Written aside and renamed into place: a plan starting meanwhile reads the old bundle or the new, never half of one.
  const partial = `${OUTFILE}.${process.pid}.tmp`;
  mkdirSync(dirname(OUTFILE), { recursive: true });
  writeFileSync(partial, asciiOnly(result.outputFiles[0].text));
  renameSync(partial, OUTFILE);
  return OUTFILE;
}

module.exports = { build, isStale, OUTFILE, STUBBED, PULUMI_SDK_VERSION };

if (require.main === module) {
  build().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
