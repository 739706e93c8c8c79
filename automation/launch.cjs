/**
 * `npm run plan`'s entry: runs the bundled CLI (dist/cli.js), building it first when it is
 * missing or older than its sources, so an edit is never planned with a stale bundle.
 */
const { build, isStale, OUTFILE } = require("./bundle.cjs");

(isStale() ? build() : Promise.resolve(OUTFILE)).then(
  (file) => require(file),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
