/**
 * The layering rules (docs/architecture.md#the-layers), checked by `npm test`. A violation names its rule:
 *
 *   error layer-order-k3s: components/k3s/Longhorn.ts → components/data/DataLayer.ts
 *
 * model/ is the ground floor; components import model/ and component layers below their own;
 * stacks/ composes components; automation/ drives stacks/. Tests sit on top of everything.
 */
/** Component layers, bottom first: each may import only the ones before it (and model/). */
const LAYERS = ["hetzner", "k3s", "edge", "data", "auth", "apps", "observability", "platform", "tenants"];

/** A forbidden import: from files whose path matches `from` to files whose path matches `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: "error", from: { path: from }, to: { path: to } });

const layerRules = LAYERS.map((layer, i) =>
  forbid(
    `layer-order-${layer}`,
    `components/${layer}/ may import model/, components/*.ts and the layers below it (${LAYERS.slice(0, i).join(", ") || "none"}), never ${LAYERS.slice(i + 1).join(", ") || "anything above"}`,
    `^components/${layer}/`,
    `^components/(${LAYERS.slice(i + 1).join("|") || "$^"})/`,
  ),
);

module.exports = {
  forbidden: [
    forbid(
      "model-is-the-ground-floor",
      "model/ holds the contract (schemas, names, pure rules) and imports no other part of the project",
      "^model/",
      "^(components|stacks|automation|policy|test|bench|testbed)/",
    ),
    forbid(
      "model-registers-nothing",
      "model/ is pure: no Pulumi SDK, so config is checked without loading it",
      "^model/",
      "node_modules/@pulumi/",
    ),
    forbid(
      "components-below-stacks",
      "components/ receive typed Args; they never import stacks/, automation/, policy/, tests or benchmarks",
      "^components/",
      "^(stacks|automation|policy|test|bench|testbed)/",
    ),
    forbid(
      "shared-component-helpers-import-no-layer",
      "components/*.ts (baseline, stateful options) serve every layer, so they import none",
      "^components/[^/]+\\.ts$",
      "^components/[^/]+/",
    ),
    ...layerRules,
    forbid(
      "stacks-below-automation",
      "stacks/ parses config and composes the platform; automation/ (plan, CLI) drives it, never the other way round",
      "^stacks/",
      "^(automation|policy|test|bench|testbed)/",
    ),
    forbid(
      "policy-reads-model-only",
      "the policy pack judges what the program registers, with the contract's names only",
      "^policy/",
      "^(components|stacks|automation|test|bench|testbed)/",
    ),
    forbid(
      "automation-never-imports-tests",
      "automation/ is product code: tests and benchmarks use it, not the other way round",
      "^automation/",
      "^(test|bench|testbed)/",
    ),
    forbid(
      "bench-never-imports-tests",
      "benchmarks share real-server drivers with tests through testbed/, never through test/",
      "^(bench|testbed)/",
      "^test/",
    ),
    { name: "no-circular", comment: "an import cycle makes module load order matter", severity: "error", from: {}, to: { circular: true } },
    { name: "not-to-unresolvable", comment: "every import resolves", severity: "error", from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(node_modules|plan|\\.bench)/" },
  },
};
