/** Service specs: the six in dogfooding/, and exactly what a spec author is told when one is wrong. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { imageProblem } from "../model/baseline";
import { resolveServices, type ServiceOverrides, type SpecFile } from "../model/config/services";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";

const DOMAIN = "enclii.io";
const SPECS = readSpecFiles(DOGFOODING_DIR);

function resolveWith(files: SpecFile[], overrides: ServiceOverrides = {}) {
  return resolveServices(files, { domain: DOMAIN, overrides });
}

/** The real specs with one file's document changed by `edit`. */
function edited(file: string, edit: (doc: any) => void): SpecFile[] {
  return SPECS.map((f) => {
    if (f.file !== `dogfooding/${file}.yaml`) return f;
    const doc = parse(f.text);
    edit(doc);
    return { file: f.file, text: stringify(doc) };
  });
}

const problemsOf = (files: SpecFile[], overrides?: ServiceOverrides) => resolveWith(files, overrides).problems;

describe("the dogfooding/ specs", () => {
  it("resolve to the six platform services with their hostnames, replicas and ports", () => {
    const { services, problems } = resolveWith(SPECS);
    expect(problems).toEqual([]);
    expect(services.map((s) => [s.name, s.replicas, s.port, s.hostnames])).toEqual([
      ["docs-site", 2, 8080, ["docs.enclii.io"]],
      ["janua", 3, 8000, ["auth.enclii.io"]],
      ["landing-page", 2, 3000, ["enclii.io"]],
      ["status-page", 2, 3000, ["status.enclii.io"]],
      ["switchyard-api", 3, 8080, ["api.enclii.io"]],
      ["switchyard-ui", 2, 3000, ["app.enclii.io"]],
    ]);
  });

  it("builds Janua from its own repository and the rest from Enclii's, with deploy filters", () => {
    const { services } = resolveWith(SPECS);
    const byName = Object.fromEntries(services.map((s) => [s.name, s]));
    expect(byName.janua.source.repository).toBe("https://github.com/madfam-io/janua");
    expect(byName["switchyard-api"].source).toEqual({
      repository: "https://github.com/madfam-io/enclii",
      branch: "main",
      path: "apps/switchyard-api",
      autoDeploy: true,
      deployFilter: { paths: ["apps/switchyard-api/**", "go.mod", "go.sum"], excludePaths: ["**/*.md"] },
    });
  });

  it("applies per-environment image and replica overrides", () => {
    const { services, problems } = resolveWith(SPECS, {
      "switchyard-api": { image: "ghcr.io/madfam-io/switchyard-api:1.5.0", replicas: 4 },
      "docs-site": { replicas: 1 },
    });
    expect(problems).toEqual([]);
    const byName = Object.fromEntries(services.map((s) => [s.name, s]));
    expect([byName["switchyard-api"].image, byName["switchyard-api"].replicas, byName["docs-site"].replicas]).toEqual([
      "ghcr.io/madfam-io/switchyard-api:1.5.0",
      4,
      1,
    ]);
    expect(byName.janua.image).toBe("ghcr.io/madfam-io/janua:0.9.3");
  });

  it("gives every service spec.deploy's defaults: no canary by default, five minutes looked at every 30 s, the gate open", () => {
    const { services } = resolveWith(SPECS);
    for (const s of services) {
      expect(s.deploy, s.name).toEqual({
        canary: {
          enabled: false,
          periodMinutes: 5,
          intervalSeconds: 30,
          replicas: 1,
          minRequests: 100,
          fallback: "abort",
          maxErrorRatioIncrease: 0.001,
          maxP95IncreaseMs: 50,
        },
        errorBudget: { minRemainingPercent: 0 },
      });
      expect(s.canary, s.name).toBeUndefined();
    }
  });

  it("runs a canary from the override: its image, the spec's canary replicas unless the override sets its own", () => {
    const image = "ghcr.io/madfam-io/switchyard-api:1.5.0";
    const files = edited("switchyard-api", (d) => (d.spec.deploy = { canary: { replicas: 2, fallback: "plain" } }));
    const byName = (overrides: ServiceOverrides) => Object.fromEntries(resolveWith(files, overrides).services.map((s) => [s.name, s]));
    const fromSpec = byName({ "switchyard-api": { canary: { image } } });
    expect(fromSpec["switchyard-api"].canary).toEqual({ image, replicas: 2 });
    expect(fromSpec["switchyard-api"].deploy.canary).toMatchObject({ replicas: 2, fallback: "plain", periodMinutes: 5 });
    // The stable pods keep the spec's image: the canary is beside them, not instead.
    expect(fromSpec["switchyard-api"].image).toBe("ghcr.io/madfam-io/switchyard-api:1.4.2");
    expect(byName({ "switchyard-api": { canary: { image, replicas: 4 } } })["switchyard-api"].canary).toEqual({ image, replicas: 4 });
  });
});

describe("spec errors name the file and the field", () => {
  it("rejects a typo'd field", () => {
    expect(problemsOf(edited("switchyard-api", (d) => (d.spec.runtime.replicaz = 3)))).toEqual([
      'dogfooding/switchyard-api.yaml: spec.runtime: unknown field "replicaz"; did you mean "replicas"?',
    ]);
  });

  it("rejects a missing port", () => {
    expect(problemsOf(edited("janua", (d) => delete d.spec.runtime.port))).toEqual([
      "dogfooding/janua.yaml: spec.runtime.port: is required",
    ]);
  });

  it("rejects a deploySchedule whose window is empty or the whole day, where the spec is read", () => {
    const equal = edited(
      "docs-site",
      (d) => (d.spec.build.source.git.deploySchedule = { onlyAfter: "22:00 UTC", onlyBefore: "22:00 UTC" }),
    );
    expect(problemsOf(equal)).toEqual([
      "dogfooding/docs-site.yaml: spec.build.source.git.deploySchedule: onlyAfter and onlyBefore are both 22:00 UTC: the window would be empty, or the whole day; leave deploySchedule out to deploy at any time",
    ]);
  });

  it("rejects unpinned images: latest, no tag", () => {
    expect(problemsOf(edited("docs-site", (d) => (d.spec.runtime.image = "ghcr.io/madfam-io/docs-site:latest")))).toEqual([
      'dogfooding/docs-site.yaml: spec.runtime.image: "ghcr.io/madfam-io/docs-site:latest" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)',
    ]);
    expect(problemsOf(edited("docs-site", (d) => (d.spec.runtime.image = "registry.example.com:5000/docs-site")))).toEqual([
      'dogfooding/docs-site.yaml: spec.runtime.image: "registry.example.com:5000/docs-site" has no tag; pin a version (name:1.2.3) or a digest (name@sha256:…)',
    ]);
  });

  it("accepts a digest and a registry port with a tag", () => {
    expect(imageProblem(`ghcr.io/madfam-io/janua@sha256:${"a".repeat(64)}`)).toBeUndefined();
    expect(imageProblem("registry.example.com:5000/docs-site:1.4.0")).toBeUndefined();
  });

  it("rejects a hostname routed by two specs, and the same host twice in one spec", () => {
    expect(problemsOf(edited("switchyard-api", (d) => (d.spec.routes = [{ host: "docs" }, { host: "api" }, { host: "api" }])))).toEqual([
      'dogfooding/switchyard-api.yaml: spec.routes[2].host: "api" is listed more than once',
      "dogfooding/switchyard-api.yaml: spec.routes[0].host: docs.enclii.io is already routed by dogfooding/docs-site.yaml",
    ]);
  });

  it("rejects callers that do not exist, env that shadows a binding, a limit below the request, a name that is not the file's", () => {
    const files = edited("switchyard-api", (d) => {
      d.metadata.name = "switchyard";
      d.spec.callers = ["switchyard-ui", "dashbaord"];
      d.spec.runtime.env.DATABASE_URL = "postgres://somewhere";
      d.spec.runtime.resources.limits.memory = "128Mi";
    });
    expect(problemsOf(files)).toEqual([
      'dogfooding/switchyard-api.yaml: metadata.name: "switchyard" must match the file name "switchyard-api"',
      "dogfooding/switchyard-api.yaml: spec.runtime.resources.limits.memory: 128Mi is below the request 256Mi",
      'dogfooding/switchyard-api.yaml: spec.callers[1]: no service spec named "dashbaord" in dogfooding/',
      "dogfooding/switchyard-api.yaml: spec.runtime.env.DATABASE_URL: is set by the service's bindings",
    ]);
  });

  it("rejects a second OIDC provider and a client id used twice", () => {
    const files = edited("status-page", (d) => (d.spec.bindings = { oidc: { role: "provider" } }));
    expect(problemsOf(files)).toEqual([
      'dogfooding/: only one service may have bindings.oidc.role "provider" (found dogfooding/janua.yaml, dogfooding/status-page.yaml)',
    ]);
    const twice = edited("status-page", (d) => (d.spec.bindings = { oidc: { role: "client", clientId: "enclii-web-ui" } }));
    expect(problemsOf(twice)).toEqual([
      'dogfooding/switchyard-ui.yaml: spec.bindings.oidc.clientId: "enclii-web-ui" is already used by dogfooding/status-page.yaml',
    ]);
  });

  it("rejects OIDC clients when no spec is the provider, and a provider without a route", () => {
    expect(problemsOf(edited("janua", (d) => delete d.spec.bindings.oidc))).toEqual([
      'dogfooding/: services bind oidc clients but no spec has bindings.oidc.role "provider"',
    ]);
    expect(problemsOf(edited("janua", (d) => (d.spec.routes = [])))).toEqual([
      'dogfooding/janua.yaml: spec.bindings.oidc: role "provider" needs a route (its public URL)',
    ]);
  });

  it("rejects bindings outside the contract: an unknown database, the backups bucket", () => {
    const files = edited("switchyard-api", (d) => {
      d.spec.bindings.postgres.database = "billing";
      d.spec.bindings.r2.bucket = "backups";
    });
    expect(problemsOf(files)).toEqual([
      'dogfooding/switchyard-api.yaml: spec.bindings.postgres.database: must be one of "enclii", "janua"',
      'dogfooding/switchyard-api.yaml: spec.bindings.r2.bucket: must be "assets": backups are reachable by the data layer alone',
    ]);
  });

  it("rejects spec.deploy values out of range, of the wrong type or unknown, every one at once", () => {
    const files = edited(
      "switchyard-api",
      (d) =>
        (d.spec.deploy = {
          canary: {
            enabled: "yes",
            periodMinutes: 0,
            intervalSeconds: 5,
            replicas: 6,
            minRequests: 0,
            fallback: "rollback",
            maxErrorRatioIncrease: 2,
            maxP95IncreaseMs: -1,
            replica: 2,
          },
          errorBudget: { minRemainingPercent: 101 },
        }),
    );
    expect(problemsOf(files)).toEqual([
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.enabled: must be true or false, not text",
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.periodMinutes: must be at least 1",
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.intervalSeconds: must be at least 10",
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.replicas: must be at most 5",
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.minRequests: must be at least 1",
      'dogfooding/switchyard-api.yaml: spec.deploy.canary.fallback: must be one of "abort", "plain"',
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.maxErrorRatioIncrease: must be at most 1",
      "dogfooding/switchyard-api.yaml: spec.deploy.canary.maxP95IncreaseMs: must be at least 0",
      'dogfooding/switchyard-api.yaml: spec.deploy.canary: unknown field "replica"; did you mean "replicas"?',
      "dogfooding/switchyard-api.yaml: spec.deploy.errorBudget.minRemainingPercent: must be at most 100",
    ]);
  });

  it("rejects a canary without metrics to judge it by, and an interval longer than the period", () => {
    const files = edited("docs-site", (d) => {
      delete d.spec.runtime.metrics;
      d.spec.deploy = { canary: { enabled: true, periodMinutes: 1, intervalSeconds: 90 } };
    });
    expect(problemsOf(files)).toEqual([
      "dogfooding/docs-site.yaml: spec.deploy.canary.enabled: a canary is judged by its metrics: set spec.runtime.metrics",
      "dogfooding/docs-site.yaml: spec.deploy.canary.intervalSeconds: 90 s is longer than the period (periodMinutes 1): the canary would be judged before it is first looked at",
    ]);
  });

  it("rejects a spec named like another's canary Deployment", () => {
    const docs = SPECS.find((f) => f.file === "dogfooding/docs-site.yaml")!;
    const doc = parse(docs.text);
    doc.metadata.name = "docs-site-canary";
    doc.spec.routes = [];
    const files = [...SPECS, { file: "dogfooding/docs-site-canary.yaml", text: stringify(doc) }];
    expect(problemsOf(files)).toEqual([
      'dogfooding/docs-site-canary.yaml: metadata.name: "docs-site-canary" is the name of docs-site\'s canary Deployment; choose another',
    ]);
  });

  it("reports YAML errors with their line, and problems from every file at once", () => {
    const files: SpecFile[] = [
      ...edited("landing-page", (d) => (d.spec.runtime.port = 80)),
      { file: "dogfooding/broken.yaml", text: "apiVersion: enclii.dev/v1\nkind: Service\nkind: Service\n" },
    ];
    expect(problemsOf(files)).toEqual([
      "dogfooding/landing-page.yaml: spec.runtime.port: must be 1024 or above: containers run without privileges",
      "dogfooding/broken.yaml: invalid YAML at line 3: Map keys must be unique",
    ]);
  });

  it("reports an empty spec directory", () => {
    expect(problemsOf([])).toEqual(["dogfooding/: no service specs (*.yaml) found"]);
  });
});

describe("the docs' spec example", () => {
  it("is the real switchyard-api spec, so the documented format cannot drift", () => {
    const readme = readFileSync(join(__dirname, "..", "docs", "services.md"), "utf8");
    const spec = readFileSync(join(DOGFOODING_DIR, "switchyard-api.yaml"), "utf8");
    expect(readme).toContain(spec.trim());
  });
});
