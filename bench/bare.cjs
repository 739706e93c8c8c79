/**
 * The bare SDK baseline: re-registers a plan's resource graph (resources.json) with plain
 * Pulumi resources under trivial mocks, in plain JavaScript with @pulumi/pulumi loaded as
 * shipped (its own diagnostics on). Same types, names, parents, providers and inputs; nothing
 * of ours runs. What the SDK alone costs for the graph the planner produced.
 *
 *   node bench/bare.cjs <resources.json> <project>
 *
 * Prints `BENCH {"evalMs":…,"resources":…}`: evalMs from the first registration to the last
 * one's completion (the SDK already loaded); the bench times the whole process from outside.
 */
const { readFileSync } = require("node:fs");
const { performance } = require("node:perf_hooks");
const pulumi = require("@pulumi/pulumi");
const settings = require("@pulumi/pulumi/runtime/settings");

const STACK_TYPE = "pulumi:pulumi:Stack";
const PROVIDER_PREFIX = "pulumi:providers:";

async function main([file, project]) {
  if (!file || !project) throw new Error("usage: node bench/bare.cjs <resources.json> <project>");
  const plan = JSON.parse(readFileSync(file, "utf8"));
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  let registered = 0;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered++;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    project,
    plan.stack,
    false,
    "organization",
  );
  const t0 = performance.now();
  await pulumi.runtime.runInPulumiStack(async () => {
    const made = new Map();
    // Parents (and providers) before their children, as the program registers them.
    const make = (r) => {
      if (made.has(r.urn)) return made.get(r.urn);
      const parent = r.parent && byUrn.get(r.parent)?.type !== STACK_TYPE ? make(byUrn.get(r.parent)) : undefined;
      const provider = r.provider ? make(byUrn.get(r.provider)) : undefined;
      const opts = { parent, provider };
      let res;
      if (r.type.startsWith(PROVIDER_PREFIX))
        res = new pulumi.ProviderResource(r.type.slice(PROVIDER_PREFIX.length), r.name, r.inputs, opts);
      else if (r.type.startsWith("enclii:")) {
        res = new pulumi.ComponentResource(r.type, r.name, {}, opts);
        res.registerOutputs({});
      } else res = new pulumi.CustomResource(r.type, r.name, r.inputs, opts);
      made.set(r.urn, res);
      return res;
    };
    for (const r of plan.resources) if (r.type !== STACK_TYPE) make(r);
    return {};
  });
  await settings.waitForRPCs();
  const evalMs = performance.now() - t0;
  // The count includes the Stack, which runInPulumiStack registers, as the plan's list does.
  process.stdout.write(`BENCH ${JSON.stringify({ evalMs, resources: registered })}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
