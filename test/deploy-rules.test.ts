/**
 * The spec's deploy rules: the window arithmetic and the path filter (model/deployRules.ts), and a
 * deploy they hold back, through the command line with a clock and stacks of the test's own
 * (nothing is opened or edited before the rules have answered).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../automation/commandLine";
import { EXIT, imageConfigPath } from "../model/controlPlane";
import {
  changedPathProblem,
  deployScheduleProblem,
  deployWindow,
  describeFilter,
  pathsPassing,
  type DeploySchedule,
} from "../model/deployRules";
import { FakeStack, historyEntry, opener } from "./controlStack";
import { ROOT } from "./harness";

const at = (iso: string) => new Date(iso);
const NIGHT: DeploySchedule = { onlyAfter: "22:00 UTC", onlyBefore: "06:00 UTC" };
const OFFICE: DeploySchedule = { onlyAfter: "09:00 UTC", onlyBefore: "17:30 UTC" };

describe("deployWindow", () => {
  it("is open from onlyAfter (included) to onlyBefore (excluded)", () => {
    expect(deployWindow(OFFICE, at("2026-12-07T12:00:00Z"))).toEqual({ open: true });
    expect(deployWindow(OFFICE, at("2026-12-07T09:00:00.000Z"))).toEqual({ open: true });
    expect(deployWindow(OFFICE, at("2026-12-07T17:29:59.999Z"))).toEqual({ open: true });
    expect(deployWindow(OFFICE, at("2026-12-07T17:30:00.000Z"))).toEqual({ open: false, opensAt: at("2026-12-08T09:00:00Z") });
    expect(deployWindow(OFFICE, at("2026-12-07T08:59:59.999Z"))).toEqual({ open: false, opensAt: at("2026-12-07T09:00:00Z") });
    expect(deployWindow(OFFICE, at("2026-12-07T00:00:00Z"))).toEqual({ open: false, opensAt: at("2026-12-07T09:00:00Z") });
  });

  it("wraps midnight when onlyBefore is the earlier time of day", () => {
    for (const open of ["2026-12-07T22:00:00Z", "2026-12-07T23:59:59.999Z", "2026-12-08T00:00:00Z", "2026-12-08T05:59:59.999Z"])
      expect(deployWindow(NIGHT, at(open)), open).toEqual({ open: true });
    expect(deployWindow(NIGHT, at("2026-12-08T06:00:00Z"))).toEqual({ open: false, opensAt: at("2026-12-08T22:00:00Z") });
    expect(deployWindow(NIGHT, at("2026-12-08T21:59:59.999Z"))).toEqual({ open: false, opensAt: at("2026-12-08T22:00:00Z") });
  });

  it("opens on the next calendar day across a month's and a year's end, in UTC whatever the local zone", () => {
    expect(deployWindow(OFFICE, at("2026-12-31T18:00:00Z"))).toEqual({ open: false, opensAt: at("2027-01-01T09:00:00Z") });
    expect(deployWindow(OFFICE, at("2028-02-28T20:00:00Z"))).toEqual({ open: false, opensAt: at("2028-02-29T09:00:00Z") });
    // 18:00 in UTC+3 is 15:00 UTC: inside.
    expect(deployWindow(OFFICE, at("2026-12-07T18:00:00+03:00"))).toEqual({ open: true });
  });

  it("refuses equal ends, which mean neither an empty window nor the whole day clearly", () => {
    expect(deployScheduleProblem({ onlyAfter: "22:00 UTC", onlyBefore: "22:00 UTC" })).toBe(
      "onlyAfter and onlyBefore are both 22:00 UTC: the window would be empty, or the whole day; leave deploySchedule out to deploy at any time",
    );
    expect(deployScheduleProblem(NIGHT)).toBeUndefined();
    expect(deployScheduleProblem({ onlyAfter: "00:00 UTC", onlyBefore: "23:59 UTC" })).toBeUndefined();
  });
});

describe("pathsPassing (minimatch globs, dotfiles included)", () => {
  const api = { paths: ["apps/switchyard-api/**", "go.mod", "go.sum"], excludePaths: ["**/*.md"] };
  const janua = { paths: [], excludePaths: ["**/*.md", "docs/**"] };

  it("passes what paths match and excludePaths do not", () => {
    expect(
      pathsPassing(api, [
        "apps/switchyard-api/main.go",
        "apps/switchyard-api/.dockerignore",
        "apps/switchyard-api/README.md",
        "README.md",
        "go.mod",
        "tools/go.mod",
        "apps/switchyard-ui/package.json",
      ]),
    ).toEqual(["apps/switchyard-api/main.go", "apps/switchyard-api/.dockerignore", "go.mod"]);
  });

  it("passes every path when paths is empty, except the excluded", () => {
    expect(pathsPassing(janua, ["src/app.py", "docs/setup.txt", "CHANGELOG.md", ".github/workflows/ci.yaml"])).toEqual([
      "src/app.py",
      ".github/workflows/ci.yaml",
    ]);
  });

  it("takes ! and # literally: exclusions belong in excludePaths", () => {
    expect(pathsPassing({ paths: ["!notes"], excludePaths: [] }, ["notes", "!notes"])).toEqual(["!notes"]);
    expect(pathsPassing({ paths: ["#x"], excludePaths: [] }, ["#x"])).toEqual(["#x"]);
  });

  it("describes a filter in one line", () => {
    expect(describeFilter(api)).toBe("paths [apps/switchyard-api/**, go.mod, go.sum], excludePaths [**/*.md]");
    expect(describeFilter(janua)).toBe("paths (every path), excludePaths [**/*.md, docs/**]");
  });

  it("takes changed paths as git names them", () => {
    expect(changedPathProblem("apps/api/main.go")).toBeUndefined();
    expect(changedPathProblem("")).toBe("an empty path");
    expect(changedPathProblem("/src/main.go")).toBe(
      "an absolute path; give it relative to the repository, as git prints it (apps/api/main.go)",
    );
    expect(changedPathProblem("apps\\api\\main.go")).toBe("a path with \\; git separates directories with /");
    for (const p of ["./main.go", "apps/../main.go", "apps//main.go", "apps/"])
      expect(changedPathProblem(p), p).toBe(
        "a path with an empty, . or .. segment; give it relative to the repository, as git prints it (apps/api/main.go)",
      );
  });
});

describe("deploy, held back by its spec", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-deploy-rules-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const SPEC = join("dogfooding", "switchyard-api.yaml");
  const NEW = "ghcr.io/madfam-io/switchyard-api:1.4.3";
  const DEPLOY = ["deploy", "--env", "staging", "--service", "switchyard-api", "--image", NEW, "--json"];
  let root: string;
  let n = 0;

  beforeEach(() => {
    root = join(tmp, String(n++));
    mkdirSync(root);
    cpSync(join(ROOT, "Pulumi.staging.yaml"), join(root, "Pulumi.staging.yaml"));
    cpSync(join(ROOT, "dogfooding"), join(root, "dogfooding"), { recursive: true });
  });

  /** switchyard-api's spec with a schedule beside its deployFilter. */
  function schedule(s: DeploySchedule) {
    const file = join(root, SPEC);
    const text = readFileSync(file, "utf8");
    writeFileSync(
      file,
      text.replace(
        "        deployFilter:",
        `        deploySchedule: { onlyAfter: "${s.onlyAfter}", onlyBefore: "${s.onlyBefore}" }\n        deployFilter:`,
      ),
    );
  }

  async function run(args: string[], now: string, stack = new FakeStack("staging")) {
    const open = opener([stack]);
    let stdout = "";
    const code = await runCli(args, { stdout: (t) => (stdout += t), stderr: () => undefined }, { root, open, now: () => at(now) });
    return { code, result: JSON.parse(stdout), opened: open.opened, stack };
  }
  const deployable = () =>
    new FakeStack("staging", { preview: [{ events: "image-only.preview.jsonl" }], up: [{ events: "image-only.up.jsonl" }] });

  it("outside its window: exit 13 saying when the next one opens, nothing opened", async () => {
    schedule(NIGHT);
    const r = await run([...DEPLOY, "--changed", "apps/switchyard-api/main.go"], "2026-12-07T12:00:00Z");
    expect(r.code).toBe(EXIT.outsideWindow);
    expect(r.result).toMatchObject({
      status: "outside-window",
      exitCode: 13,
      message:
        "switchyard-api deploys only from 22:00 UTC to 06:00 UTC (deploySchedule in dogfooding/switchyard-api.yaml); the next window opens at 2026-12-07T22:00:00Z; nothing was changed; --force deploys now",
      deploy: { service: "switchyard-api", image: NEW, targets: [], notApplied: [] },
    });
    expect(r.opened).toEqual([]);
  });

  it("inside its window, or outside with --force: deploys", async () => {
    schedule(NIGHT);
    const inside = await run([...DEPLOY, "--changed", "go.sum"], "2026-12-07T23:30:00Z", deployable());
    expect(inside.result).toMatchObject({ status: "deployed", exitCode: 0 });
    const forced = await run([...DEPLOY, "--force"], "2026-12-07T12:00:00Z", deployable());
    expect(forced.result).toMatchObject({ status: "deployed", exitCode: 0 });
    expect(forced.stack.callsOf("setConfig")[0].args).toEqual([imageConfigPath("switchyard-api"), NEW]);
  });

  it("a rollback is not held back: it undoes a bad deploy at any hour", async () => {
    schedule(NIGHT);
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: "image-restore.up.jsonl" }],
    });
    stack.config.set(imageConfigPath("switchyard-api"), NEW);
    stack.historyList = [
      historyEntry("succeeded", { "switchyard-api": NEW }),
      historyEntry("succeeded", { "switchyard-api": "ghcr.io/madfam-io/switchyard-api:1.4.2" }),
    ];
    const r = await run(["rollback", "--env", "staging", "--service", "switchyard-api", "--json"], "2026-12-07T12:00:00Z", stack);
    expect(r.result).toMatchObject({ operation: "rollback", status: "deployed" });
  });

  it("a schedule whose ends are equal is a usage error naming the spec's field", async () => {
    schedule({ onlyAfter: "22:00 UTC", onlyBefore: "22:00 UTC" });
    const r = await run([...DEPLOY, "--force"], "2026-12-07T12:00:00Z");
    expect(r.code).toBe(EXIT.usage);
    expect(r.result.message).toContain(
      "dogfooding/switchyard-api.yaml: spec.build.source.git.deploySchedule: onlyAfter and onlyBefore are both 22:00 UTC: the window would be empty, or the whole day; leave deploySchedule out to deploy at any time",
    );
    expect(r.opened).toEqual([]);
  });

  it("no changed path passes the deployFilter: skipped (exit 0), nothing opened", async () => {
    const r = await run(
      [...DEPLOY, "--changed", "apps/switchyard-api/README.md", "--changed", "apps/switchyard-ui/app.ts"],
      "2026-12-07T12:00:00Z",
    );
    expect(r.code).toBe(EXIT.ok);
    expect(r.result).toMatchObject({
      status: "skipped",
      exitCode: 0,
      message:
        "switchyard-api: none of the 2 changed path(s) passes its deployFilter (paths [apps/switchyard-api/**, go.mod, go.sum], excludePaths [**/*.md], in dogfooding/switchyard-api.yaml); nothing was deployed",
    });
    expect(r.opened).toEqual([]);
  });

  it("a filter and no --changed: a usage error asking for --changed or --force", async () => {
    const r = await run(DEPLOY, "2026-12-07T12:00:00Z");
    expect(r.code).toBe(EXIT.usage);
    expect(r.result.message).toContain(
      "--changed: switchyard-api deploys only for changes its deployFilter passes (dogfooding/switchyard-api.yaml); pass each path the push changed with --changed, or --force to deploy whatever changed",
    );
    expect(r.opened).toEqual([]);
  });

  it("one changed path that passes is enough", async () => {
    const r = await run(
      [...DEPLOY, "--changed", "README.md", "--changed", "apps/switchyard-api/handler.go"],
      "2026-12-07T12:00:00Z",
      deployable(),
    );
    expect(r.result).toMatchObject({ status: "deployed", exitCode: 0 });
  });
});
