/**
 * The Go toolchain (docs/testing.md#the-go-toolchain): our Go is gofmt- and vet-clean, each module
 * requires what testbed/toolchain.ts says it builds, and each built binary reports the version
 * its go.mod pins (the link flags stamp what a build from the proxy lacks).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleVersion, TOOLS } from "../testbed/toolchain";
import { requireBuilt, requireTool, ROOT } from "./harness";

const TOOLCHAIN = join(ROOT, "toolchain");
const run = (cmd: string, args: string[], cwd = ROOT) => spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });

/** What each binary prints for its version, and the pattern the pinned version must match in it. */
const VERSION_COMMANDS: Record<string, { args: string[]; expect: (v: string) => string }> = {
  pulumi: { args: ["version"], expect: (v) => v },
  "pulumi-language-nodejs": { args: ["--help"], expect: () => "Usage" },
  "pulumi-resource-kubernetes": { args: ["--help"], expect: () => "Usage" },
  "kube-apiserver": { args: ["--version"], expect: (v) => `Kubernetes ${v}` },
  kubectl: { args: ["version", "--client"], expect: (v) => `Client Version: ${v}` },
  etcd: { args: ["--version"], expect: (v) => `etcd Version: ${v.replace(/^v/, "")}` },
  trivy: { args: ["--version"], expect: (v) => `Version: ${v.replace(/^v/, "")}` },
};

describe("the Go toolchain", () => {
  const modules = readdirSync(TOOLCHAIN).filter((d) => readdirSync(join(TOOLCHAIN, d)).includes("go.mod"));

  it("builds every tool from a module folder of its own, and every folder is used", () => {
    expect(new Set(TOOLS.map((t) => t.dir))).toEqual(new Set(modules));
    for (const t of TOOLS) expect(moduleVersion(t), t.bin).toMatch(/^v\d+\.\d+\.\d+/);
    expect(Object.keys(VERSION_COMMANDS).sort()).toEqual(TOOLS.map((t) => t.bin).sort());
  });

  it("repeats upstream's replace directives only as module versions, never as folders", () => {
    for (const dir of modules) {
      const goMod = readFileSync(join(TOOLCHAIN, dir, "go.mod"), "utf8");
      // A replace to a path (./ or ../) would need upstream's source beside ours.
      expect(goMod, dir).not.toMatch(/=>\s*\.{1,2}\//);
    }
  });

  it("is gofmt-clean and go vet-clean", () => {
    if (!requireTool("go", "golang (or the Go toolchain)")) return;
    const unformatted = run("gofmt", ["-l", TOOLCHAIN]);
    expect(unformatted.stderr).toBe("");
    expect(unformatted.stdout).toBe("");
    // Most modules hold no Go of ours (a `tool` directive names the upstream main package).
    const withGo = modules.filter((dir) => readdirSync(join(TOOLCHAIN, dir)).some((f) => f.endsWith(".go")));
    expect(withGo.length).toBeGreaterThan(0);
    for (const dir of withGo) {
      // A main that embeds a file the build copies in vets only once the build has run.
      const copied = TOOLS.find((t) => t.dir === dir && t.copy);
      if (copied && !requireBuilt(copied.bin)) continue;
      const vet = run("go", ["vet", "./..."], join(TOOLCHAIN, dir));
      expect(vet.stderr.replace(/^go: downloading .*\n/gm, ""), dir).toBe("");
      expect(vet.status, dir).toBe(0);
    }
  });

  it.each(TOOLS.map((t) => t.bin))("%s reports the version its go.mod pins", (bin) => {
    const path = requireBuilt(bin);
    if (!path) return;
    const { args, expect: pattern } = VERSION_COMMANDS[bin];
    const out = run(path, args);
    expect(out.stdout + out.stderr).toContain(pattern(moduleVersion(TOOLS.find((t) => t.bin === bin)!)));
  });
});
