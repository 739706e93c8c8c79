/**
 * The layering rules (README "Architecture"), checked by `npm test`. A violation names its rule:
 *
 *   error layer-order-k3s: components/k3s/Longhorn.ts → components/data/contract.ts
 *
 * model/ is the ground floor; components import model/ and component layers below their own;
 * stacks/ composes components; automation/ drives stacks/. Tests sit on top of everything.
 */
/** Component layers, bottom first: each may import only the ones before it (and model/). */
const LAYERS = ["hetzner", "k3s", "edge", "data", "auth", "apps", "platform"];
const ABOVE_COMPONENTS = "^(stacks|automation|policy|test|bench|testbed)/";

const layerRules = LAYERS.map((layer, i) => ({
  name: `layer-order-${layer}`,
  comment: `components/${layer}/ may import model/, components/*.ts and the layers below it (${LAYERS.slice(0, i).join(", ") || "none"}), never ${LAYERS.slice(i + 1).join(", ") || "anything above"}`,
  severity: "error",
  from: { path: `^components/${layer}/` },
  to: { path: `^components/(${LAYERS.slice(i + 1).join("|") || "$^"})/` },
}));

module.exports = {
  forbidden: [
    {
      name: "model-is-the-ground-floor",
      comment: "model/ holds the contract (schemas, names, pure rules) and imports no other part of the project",
      severity: "error",
      from: { path: "^model/" },
      to: { path: "^(components|stacks|automation|policy|test|bench|testbed)/" },
    },
    {
      name: "model-registers-nothing",
      comment: "model/ is pure: no Pulumi SDK, so config is checked without loading it",
      severity: "error",
      from: { path: "^model/" },
      to: { path: "node_modules/@pulumi/" },
    },
    {
      name: "components-below-stacks",
      comment: "components/ receive typed Args; they never import stacks/, automation/, policy/, tests or benchmarks",
      severity: "error",
      from: { path: "^components/" },
      to: { path: ABOVE_COMPONENTS },
    },
    {
      name: "shared-component-helpers-import-no-layer",
      comment: "components/*.ts (baseline, stateful options) serve every layer, so they import none",
      severity: "error",
      from: { path: "^components/[^/]+\\.ts$" },
      to: { path: "^components/[^/]+/" },
    },
    ...layerRules,
    {
      name: "stacks-below-automation",
      comment: "stacks/ parses config and composes the platform; automation/ (plan, CLI) drives it, never the other way round",
      severity: "error",
      from: { path: "^stacks/" },
      to: { path: "^(automation|policy|test|bench|testbed)/" },
    },
    {
      name: "policy-reads-model-only",
      comment: "the policy pack judges what the program registers, with the contract's names only",
      severity: "error",
      from: { path: "^policy/" },
      to: { path: "^(components|stacks|automation|test|bench|testbed)/" },
    },
    {
      name: "automation-never-imports-tests",
      comment: "automation/ is product code: tests and benchmarks use it, not the other way round",
      severity: "error",
      from: { path: "^automation/" },
      to: { path: "^(test|bench|testbed)/" },
    },
    {
      name: "bench-never-imports-tests",
      comment: "benchmarks share real-server drivers with tests through testbed/, never through test/",
      severity: "error",
      from: { path: "^(bench|testbed)/" },
      to: { path: "^test/" },
    },
    {
      name: "no-circular",
      comment: "an import cycle makes module load order matter",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "every import resolves",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(node_modules|plan|\\.bench)/" },
  },
};
