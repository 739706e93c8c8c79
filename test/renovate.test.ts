/**
 * Pins that update themselves (docs/runbooks/upgrades.md#pins-that-update-themselves):
 * renovate.json passes Renovate's own validator, and its regex managers see every pin in
 * model/pins.ts exactly once, so a pin Renovate would not see fails here.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { CHARTS, IMAGES, K3S_RELEASES } from "../model/pins";
import { ROOT } from "./harness";

const PINS_FILE = "model/pins.ts";
const RENOVATE_DIR = join(ROOT, "toolchain/renovate");
const VALIDATOR = join(RENOVATE_DIR, "node_modules/renovate/dist/config-validator.js");
const INSTALL_VALIDATOR = "npm ci --prefix toolchain/renovate";
/** Where `npm run node24` (and so `npm run test:node24`) puts the pinned Node 24. */
const NODE24 = join(ROOT, "node_modules/.cache/node24/node_modules/.bin/node");

interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  autoReplaceStringTemplate?: string;
  depNameTemplate?: string;
  datasourceTemplate: string;
  versioningTemplate?: string;
}
const config = JSON.parse(readFileSync(join(ROOT, "renovate.json"), "utf8")) as { customManagers: CustomManager[] };

/** Renovate's `/regex/` file patterns. */
const matchesFile = (m: CustomManager, file: string) =>
  m.managerFilePatterns.some((p) => /^\/.*\/$/.test(p) && new RegExp(p.slice(1, -1)).test(file));
const pinsManagers = config.customManagers.filter((m) => m.customType === "regex" && matchesFile(m, PINS_FILE));

/** A dependency as Renovate would extract it: datasource, name, registry (charts only), value. */
const dep = (datasource: string, name: string, value: string, registry = "") => [datasource, name, registry, value].join(" ");

/** What each manager's regexes extract from `text`, as Renovate applies them (global, whole file). */
function extract(text: string): string[] {
  return pinsManagers.flatMap((m) =>
    m.matchStrings.flatMap((s) =>
      [...text.matchAll(new RegExp(s, "g"))].map((match) => {
        const g = match.groups ?? {};
        return dep(m.datasourceTemplate, m.depNameTemplate ?? g.depName, g.currentValue, g.registryUrl);
      }),
    ),
  );
}

/**
 * The validator and a Node its engines accept: this Node, else the pinned Node 24. Skipped
 * locally with the command that installs what is missing; a failure in CI, where .ci/run
 * installs both first.
 */
function requireValidator(): string | undefined {
  const missing = (what: string, install: string) => {
    if (process.env.CI) throw new Error(`${what}; .ci/run must run ${install} first`);
    console.warn(`skipping: ${what} (${install})`);
    return undefined;
  };
  if (!existsSync(VALIDATOR)) return missing("Renovate's config validator is not installed", INSTALL_VALIDATOR);
  const { version, engines } = JSON.parse(readFileSync(join(RENOVATE_DIR, "node_modules/renovate/package.json"), "utf8"));
  if (semver.satisfies(process.versions.node, engines.node)) return process.execPath;
  const node24 = existsSync(NODE24) ? spawnSync(NODE24, ["--version"], { encoding: "utf8" }).stdout.trim() : "";
  if (node24 && semver.satisfies(node24, engines.node)) return NODE24;
  return missing(
    `Renovate ${version} needs Node ${engines.node}, this is ${process.version} and there is no pinned Node 24`,
    "npm run node24",
  );
}

describe("Renovate", () => {
  it("renovate.json passes Renovate's own validator (--strict) with no error or warning", () => {
    const node = requireValidator();
    if (!node) return;
    const run = spawnSync(node, [VALIDATOR, "--strict"], {
      cwd: ROOT,
      encoding: "utf8",
      // Node's own RegExp, as Renovate falls back to without the optional re2 module: otherwise
      // the validator warns that re2 is missing, which says nothing about the config.
      env: { ...process.env, RENOVATE_X_IGNORE_RE2: "true", LOG_LEVEL: "info" },
    });
    const output = run.stdout + run.stderr;
    expect(output).toContain("Validating renovate.json");
    expect(output.split("\n").filter((l) => /^\s*(WARN|ERROR|FATAL):/.test(l))).toEqual([]);
    expect(run.status, output).toBe(0);
  });

  it("every pin in model/pins.ts is matched by exactly one custom manager", () => {
    const expected = [
      ...Object.values(CHARTS).map((c) => dep("helm", c.chart, c.version, c.repo)),
      ...Object.values(IMAGES).map((image) => {
        const colon = image.lastIndexOf(":");
        return dep("docker", image.slice(0, colon), image.slice(colon + 1));
      }),
      dep("github-releases", "k3s-io/k3s", K3S_RELEASES[K3S_RELEASES.length - 1]),
    ];
    expect(extract(readFileSync(join(ROOT, PINS_FILE), "utf8")).sort()).toEqual(expected.sort());
  });

  it("a k3s release is appended to K3S_RELEASES, whose new last tag the next bump finds", () => {
    const k3s = pinsManagers.find((m) => m.depNameTemplate === "k3s-io/k3s");
    if (!k3s?.autoReplaceStringTemplate) throw new Error("renovate.json has no k3s manager that appends");
    const versioning = new RegExp(k3s.versioningTemplate?.replace(/^regex:/, "") ?? "");
    for (const tag of K3S_RELEASES) expect(tag, "the k3s versioning reads every allowed tag").toMatch(versioning);

    const text = readFileSync(join(ROOT, PINS_FILE), "utf8");
    const last = K3S_RELEASES[K3S_RELEASES.length - 1];
    const next = "v1.99.0+k3s1";
    const bumped = text.replace(new RegExp(k3s.matchStrings[0]), () =>
      k3s.autoReplaceStringTemplate!.replace("{{{currentValue}}}", last).replace("{{{newValue}}}", next),
    );
    expect(bumped).toContain(`  "${last}",\n  "${next}",\n];`);
    expect(extract(bumped).filter((d) => d.startsWith("github-releases"))).toEqual([dep("github-releases", "k3s-io/k3s", next)]);
  });
});
