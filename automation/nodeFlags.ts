/**
 * The flags Node starts the CLI with, wherever it is started: launch.cjs' `#!` line (the
 * `enclii-infra` bin), package.json's scripts, the Go client's default command, and the planners
 * this code starts itself (a base ref's, `plan --against REF`). test/node-flags.test.ts checks each.
 *
 * A plan allocates its shards' promises and outputs faster than V8's default young generation
 * (16 MB semi-spaces) lets them die there: they are copied, promoted, and collected again by the
 * far costlier old-generation collector. With 64 MB semi-spaces, 10,000 tenants planned in one
 * process on two cores took 23.7 s and peaked at 457 MB, against about 30 s and 465 MB. V8 reads
 * the size as its heap is set up, so it cannot be set once the CLI is running: set at run time
 * (v8.setFlagsFromString) it saved nothing.
 */
export const NODE_FLAGS = ["--max-semi-space-size=64"];
