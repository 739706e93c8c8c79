/**
 * A stand-in for the Pulumi CLI, so the Automation API's own code (LocalWorkspace, Stack, its
 * event stream) runs here, where no Pulumi CLI can be installed. It answers what the library asks:
 * `version`, `stack select|init|output|history|export`, `config get|set|set-all|rm` (editing the stack file in
 * the working directory, as the real CLI does), and `preview`, `up`, `refresh` by replaying event
 * logs (testbed/pulumi/events/*.jsonl) over the engine's gRPC event stream (CLI > 3.205) or into
 * the --event-log file.
 *
 * ENCLII_STANDIN_SCENARIO: a JSON file saying what each command answers (scenarios/*.json): per
 * command a list of answers used in turn, the last repeated; `{ "events": file, "exitCode": n,
 * "stderr": text }` or `{ "conflict": true }` (a 409); `missingStacks` the backend does not
 * have. ENCLII_STANDIN_DIR: where it keeps calls.jsonl (every invocation), its
 * counters and each stack's history. Nothing here talks to a backend or a cloud.
 *
 * Checked against the real CLI (test/engine.real.test.ts, docs/control-plane.md#checked-against-the-real-engine):
 * the event logs are the real engine's, recorded or reshaped to its events; the error texts the
 * Automation API recognises ("no stack named", "not found for stack", the 409) are the real
 * ones; a failed preview is its events and then a non-zero exit, as the real one. It does not
 * encrypt secrets (`config set --secret` writes the plain value) and numbers history from 1.
 */
const { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { dirname, join, resolve } = require("node:path");
const { parse, parseDocument } = require("yaml");

const CONFLICT = "error: [409] Conflict: Another update is currently in progress.";
// Absolute: the Automation API runs the CLI in the project's directory (tenants/ for a shard).
const scenarioFile = resolve(process.env.ENCLII_STANDIN_SCENARIO ?? join(__dirname, "scenarios", "deploy-ok.json"));
const scenario = JSON.parse(readFileSync(scenarioFile, "utf8"));
const home = process.env.ENCLII_STANDIN_DIR ?? join(tmpdir(), "enclii-pulumi-standin");
mkdirSync(home, { recursive: true });
const stateFile = join(home, "state.json");
const state = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : { counters: {}, history: {}, stacks: [] };
const save = () => writeFileSync(stateFile, JSON.stringify(state, null, 2));

const args = process.argv.slice(2);
appendFileSync(join(home, "calls.jsonl"), `${JSON.stringify({ args, cwd: process.cwd() })}\n`);

function flag(name) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
const has = (name) => args.includes(name);
const stack = flag("--stack");

function fail(message, code = 255) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** The command's next answer from the scenario (the last one repeats). */
function answer(command) {
  const list = scenario[command];
  if (!list || list.length === 0) fail(`stand-in: the scenario ${scenarioFile} has no answer for ${command}`);
  // Counted per scenario, so a session that switches scenarios starts each one at its first answer.
  const counter = `${scenarioFile} ${command}`;
  const n = state.counters[counter] ?? 0;
  state.counters[counter] = n + 1;
  save();
  return list[Math.min(n, list.length - 1)];
}

// ------------------------------------------------------------------ stack files

const stackFile = () => join(process.cwd(), `Pulumi.${stack}.yaml`);

function loadDoc() {
  return existsSync(stackFile()) ? parseDocument(readFileSync(stackFile(), "utf8")) : parseDocument("config: {}\n");
}

/** `ns:key` or `ns:key["a"].b[0]` as a path into the stack file's config map. */
function configPath(key, path) {
  if (!path) return ["config", key];
  const m = /^([^:]+:[^.[]+)(.*)$/.exec(key);
  if (!m) fail(`stand-in: cannot parse config path ${key}`);
  const rest = [...m[2].matchAll(/\["([^"]+)"\]|\.([^.[]+)|\[(\d+)\]/g)].map((p) => p[1] ?? p[2] ?? Number(p[3]));
  return ["config", m[1], ...rest];
}

/** Pulumi's config map for the stack: objects as JSON text with objectValue, as `stack history` shows them. */
function configMap() {
  const config = loadDoc().toJS()?.config ?? {};
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) =>
      typeof v === "object" && v !== null
        ? [k, { value: JSON.stringify(v), objectValue: v, secret: false }]
        : [k, { value: String(v), secret: false }],
    ),
  );
}

// ------------------------------------------------------------------ engine events

function readEvents(file) {
  return readFileSync(resolve(dirname(scenarioFile), file), "utf8")
    .split("\n")
    .filter((l) => l.trim());
}

async function sendEvents(lines) {
  const target = flag("--event-log");
  if (!target) return;
  if (!target.startsWith("tcp://")) {
    for (const line of lines) appendFileSync(target, `${line}\n`);
    return;
  }
  const grpc = require("@grpc/grpc-js");
  const { EventsClient } = require("@pulumi/pulumi/proto/events_grpc_pb");
  const { EventRequest } = require("@pulumi/pulumi/proto/events_pb");
  const client = new EventsClient(target.slice("tcp://".length), grpc.credentials.createInsecure());
  await new Promise((done, failed) => {
    const call = client.streamEvents((err) => (err ? failed(err) : done()));
    for (const line of lines) {
      const req = new EventRequest();
      req.setEvent(line);
      call.write(req);
    }
    call.end();
  });
  client.close();
}

async function engine(command) {
  const a = answer(command);
  if (a.conflict) fail(CONFLICT);
  await sendEvents(a.events ? readEvents(a.events) : []);
  const kind = command === "up" ? "update" : command;
  if (command === "up" || (command === "refresh" && !has("--preview-only"))) {
    state.history[stack] = state.history[stack] ?? [];
    const now = new Date().toISOString();
    state.history[stack].unshift({
      version: state.history[stack].length + 1,
      kind,
      startTime: now,
      endTime: now,
      message: flag("--message") ?? "",
      environment: { "exec.kind": flag("--exec-kind") ?? "" },
      config: configMap(),
      result: (a.exitCode ?? 0) === 0 ? "succeeded" : "failed",
      resourceChanges: {},
    });
    save();
  }
  process.stdout.write(`${command} of ${stack}: replayed ${a.events ?? "no events"}\n`);
  if ((a.exitCode ?? 0) !== 0) fail(a.stderr ?? `error: ${command} failed`, a.exitCode);
}

// ------------------------------------------------------------------ commands

async function main() {
  const [first, second] = args;
  if (first === "version") return process.stdout.write(`v${scenario.version ?? "3.270.0"}\n`);
  if (first === "stack" && second === "select") {
    const missing = (scenario.missingStacks ?? []).includes(stack);
    if (!missing && (existsSync(stackFile()) || state.stacks.includes(stack))) return;
    return fail(`error: no stack named '${stack}' found`);
  }
  if (first === "stack" && second === "init") {
    const name = args[2];
    if (state.stacks.includes(name)) return fail(`error: stack '${name}' already exists`);
    state.stacks.push(name);
    return save();
  }
  if (first === "stack" && second === "output") {
    const outputs = (scenario.outputs ?? {})[stack] ?? {};
    const secret = new Set((scenario.secretOutputs ?? {})[stack] ?? []);
    const shown = Object.fromEntries(
      Object.entries(outputs).map(([k, v]) => [k, secret.has(k) && !has("--show-secrets") ? "[secret]" : v]),
    );
    return process.stdout.write(JSON.stringify(shown));
  }
  if (first === "stack" && second === "export") {
    // The scenario's `exports[stack]` (resources with their `created` times), else an empty deployment.
    return process.stdout.write(JSON.stringify((scenario.exports ?? {})[stack] ?? { version: 3, deployment: { resources: [] } }));
  }
  if (first === "stack" && second === "history") {
    const size = Number(flag("--page-size") ?? 1e9);
    return process.stdout.write(
      JSON.stringify([...(state.history[stack] ?? []), ...((scenario.history ?? {})[stack] ?? [])].slice(0, size)),
    );
  }
  if (first === "config" && second === "get") {
    const key = args[args.indexOf("get") + (has("--path") ? 2 : 1)];
    const value = loadDoc().getIn(configPath(key, has("--path")));
    if (value === undefined) return fail(`error: configuration key '${key}' not found for stack '${stack}'`, 1);
    return process.stdout.write(JSON.stringify({ value: String(value), secret: false }));
  }
  if (first === "config" && second === "set") {
    const key = args.find((a, i) => i > 1 && !a.startsWith("--") && args[i - 1] !== "--stack");
    const doc = loadDoc();
    doc.setIn(configPath(key, has("--path")), args[args.indexOf("--") + 1]);
    return writeFileSync(stackFile(), doc.toString({ lineWidth: 0 }));
  }
  if (first === "config" && second === "set-all") {
    // One write for every pair; with --path, "true"/"false" become booleans and whole numbers without
    // a leading 0 numbers (sdk/go/common/resource/config/map.go `adjustObjectValue`).
    const path = has("--path");
    const typed = (v) => (v === "true" || v === "false" ? v === "true" : /^(0|-?[1-9]\d*)$/.test(v) ? Number(v) : v);
    const doc = loadDoc();
    // A string YAML 1.1 would read as something else (a timestamp, "01") is written quoted, as go-yaml does.
    const node = (v) => {
      const n = doc.createNode(v);
      if (typeof v === "string" && parse(v, { version: "1.1" }) !== v) n.type = "QUOTE_DOUBLE";
      return n;
    };
    args.forEach((a, i) => {
      if (a !== "--plaintext" && a !== "--secret") return;
      const pair = args[i + 1];
      const eq = pair.indexOf("=");
      doc.setIn(configPath(pair.slice(0, eq), path), node(path ? typed(pair.slice(eq + 1)) : pair.slice(eq + 1)));
    });
    return writeFileSync(stackFile(), doc.toString({ lineWidth: 0 }));
  }
  if (first === "config" && second === "rm") {
    const doc = loadDoc();
    doc.deleteIn(configPath(args[2], has("--path")));
    return writeFileSync(stackFile(), doc.toString({ lineWidth: 0 }));
  }
  if (["preview", "up", "refresh"].includes(first)) return engine(first === "refresh" && has("--preview-only") ? "previewRefresh" : first);
  return fail(`stand-in: "pulumi ${args.join(" ")}" is not something the stand-in answers`);
}

main().catch((err) => fail(`stand-in: ${err instanceof Error ? err.stack : err}`));
