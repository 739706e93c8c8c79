/** `enclii-infra`'s entry (bundled into dist/cli.js, started by automation/launch.cjs). */
import type { Io } from "./control/commands";
import { runCli } from "./commandLine";

const io: Io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

// Exit once the output is flushed; a plan can leave timers of the SDK behind.
void runCli(process.argv.slice(2), io, { root: process.cwd() }).then((code) => process.exit(code));
