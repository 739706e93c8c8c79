/**
 * Node's flags for the CLI (automation/nodeFlags.ts) reach it however it is started: V8 sizes its
 * heap as it starts, so a flag missing from one way in makes that way's plans slower without
 * failing anything.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE_FLAGS } from "../automation/nodeFlags";
import { ROOT } from "./harness";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const LAUNCH = "automation/launch.cjs";

describe("the CLI's Node flags", () => {
  it("are on launch.cjs' #! line, which starts it as the enclii-infra bin", () => {
    expect(read(LAUNCH).split("\n")[0]).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(" ")}`);
    const run = spawnSync(join(ROOT, LAUNCH), ["--help"], { cwd: ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("plan");
  });

  it("are in every package.json script that runs it", () => {
    const scripts = Object.entries(JSON.parse(read("package.json")).scripts as Record<string, string>).filter(([, s]) =>
      s.includes(LAUNCH),
    );
    expect(scripts.length).toBeGreaterThan(0);
    for (const [name, script] of scripts) expect(script, name).toMatch(new RegExp(`^node ${NODE_FLAGS.join(" ")} ${LAUNCH} `));
  });

  it("are in the Go client's default command", () => {
    const flags = NODE_FLAGS.map((f) => JSON.stringify(f)).join(", ");
    // The Go module's own test (client_test.go) checks its default command passes nodeFlags.
    expect(read("clients/go/enclii-infra/client.go")).toContain(`var nodeFlags = []string{${flags}}`);
  });

  it("are given by every planner the CLI starts itself", () => {
    const starts = readdirSync(join(ROOT, "automation"))
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) =>
        read(`automation/${f}`)
          .split("\n")
          .map((line) => ({ f, line })),
      )
      .filter(({ line }) => line.includes(`"${LAUNCH}"`));
    expect(starts.length).toBeGreaterThan(0);
    for (const { f, line } of starts) expect(line, f).toContain(`[...NODE_FLAGS, "${LAUNCH}"`);
  });
});
