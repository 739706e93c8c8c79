/**
 * enclii-infra CLI. `plan <stack> [--out DIR] [--config FILE]` runs the offline plan: the real
 * program under Pulumi's mocks, no credentials, deterministic output (automation/planCommand.ts).
 */
import { planCommand, USAGE } from "./planCommand";

const io = { stdout: (t: string) => process.stdout.write(t), stderr: (t: string) => process.stderr.write(t) };

async function main([command, ...rest]: string[]): Promise<number> {
  if (command === "plan") return planCommand(rest, io);
  io.stderr(`${USAGE}\n`);
  return 1;
}

// Exit once the output is flushed; a plan can leave timers of the SDK behind.
void main(process.argv.slice(2)).then((code) => process.exit(code));
