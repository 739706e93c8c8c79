/** `enclii-infra`'s entry (bundled into dist/cli.js, started by automation/launch.cjs), and a shard planner worker's (shardPlans.ts). */
import type { Io } from "./control/commands";
import { runCli } from "./commandLine";
import { SHARD_WORKER_ARG } from "./shardPlans";

const io: Io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

if (process.argv[2] === SHARD_WORKER_ARG) void import("./shardWorker").then((worker) => worker.serveShards());
// Exit once the output is flushed; a plan can leave timers of the SDK behind.
else void runCli(process.argv.slice(2), io, { root: process.cwd() }).then((code) => process.exit(code));
