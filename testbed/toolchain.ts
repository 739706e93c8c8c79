/**
 * The Go-built tools the real-engine and API-server tests run (docs/testing.md#the-go-toolchain):
 * each is a module of ours under toolchain/<dir> that requires the upstream module at a pinned
 * version (and repeats its replace directives), built with the machine's Go from the module proxy.
 *
 * A build lands in .toolchain/<bin>-<key>/<bin>, where the key hashes everything that decides the
 * binary: the Go version, the module's go.mod, go.sum and Go files, and the link flags. A second
 * run with the same key skips the build; a changed pin makes a new key, so a stale binary is never
 * used. `npm run toolchain` builds what is missing; tests ask `toolPath`.
 */
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..");
const SOURCES = join(ROOT, "toolchain");
const CACHE = join(ROOT, ".toolchain");

export interface Tool {
  /** The binary's name, as the tests and the engine look for it. */
  bin: string;
  /** The module folder under toolchain/. */
  dir: string;
  /** The upstream module whose version the binary reports. */
  module: string;
  /** The package to build (a `tool` directive in its go.mod), `.` for a main of ours. */
  pkg: string;
  /** Link flags that stamp the version (a build from the proxy has no VCS stamp): `{v}` is the module's version. */
  ldflags?: (v: string) => string[];
  /** Extra environment for `go` (a GOEXPERIMENT the module needs). */
  env?: Record<string, string>;
  /** A file the build copies from the upstream module into toolchain/<dir> first (git-ignored there). */
  copy?: { from: string; to: string };
}

/** What Kubernetes' hack/lib/version.sh stamps; pulumi-kubernetes reads the server's version to choose how it applies. */
function kubeVersionFlags(v: string): string[] {
  const [major, minor] = v.replace(/^v/, "").split(".");
  const pkg = "k8s.io/component-base/version";
  return [`-X ${pkg}.gitVersion=${v}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=clean`];
}

export const TOOLS: readonly Tool[] = [
  {
    bin: "pulumi",
    dir: "pulumi",
    module: "github.com/pulumi/pulumi/pkg/v3",
    pkg: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ldflags: (v) => [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${v}`],
  },
  {
    bin: "pulumi-language-nodejs",
    dir: "language-nodejs",
    module: "github.com/pulumi/pulumi/sdk/v3",
    pkg: "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs",
    ldflags: (v) => [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${v}`],
  },
  {
    bin: "pulumi-resource-kubernetes",
    dir: "pulumi-kubernetes",
    module: "github.com/pulumi/pulumi-kubernetes/provider/v4",
    pkg: ".",
    ldflags: (v) => [`-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${v.replace(/^v/, "")}`],
    copy: { from: "cmd/pulumi-resource-kubernetes/schema.json", to: "schema.json" },
  },
  {
    bin: "kube-apiserver",
    dir: "kubernetes",
    module: "k8s.io/kubernetes",
    pkg: "k8s.io/kubernetes/cmd/kube-apiserver",
    ldflags: (v) => kubeVersionFlags(v),
  },
  {
    bin: "kubectl",
    dir: "kubernetes",
    module: "k8s.io/kubernetes",
    pkg: "k8s.io/kubernetes/cmd/kubectl",
    ldflags: (v) => kubeVersionFlags(v),
  },
  { bin: "etcd", dir: "etcd", module: "go.etcd.io/etcd/server/v3", pkg: "go.etcd.io/etcd/server/v3" },
  {
    bin: "trivy",
    dir: "trivy",
    module: "github.com/aquasecurity/trivy",
    pkg: "github.com/aquasecurity/trivy/cmd/trivy",
    ldflags: (v) => [`-X github.com/aquasecurity/trivy/pkg/version/app.ver=${v.replace(/^v/, "")}`],
    // Trivy imports encoding/json/v2, which Go 1.26 builds only under this experiment.
    env: { GOEXPERIMENT: "jsonv2" },
  },
];

export function tool(bin: string): Tool {
  const found = TOOLS.find((t) => t.bin === bin);
  if (!found) throw new Error(`no tool ${bin} in testbed/toolchain.ts`);
  return found;
}

/** The version of `t.module` that toolchain/<dir>/go.mod requires. */
export function moduleVersion(t: Tool): string {
  const goMod = readFileSync(join(SOURCES, t.dir, "go.mod"), "utf8");
  const escaped = t.module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const m = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod);
  if (!m) throw new Error(`toolchain/${t.dir}/go.mod requires no ${t.module}`);
  return m[1];
}

let goVersionCache: string | undefined;
function goVersion(): string {
  goVersionCache ??= execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim();
  return goVersionCache;
}

/** The cache key: a change to any input of the build is a new key. */
export function toolKey(t: Tool): string {
  const dir = join(SOURCES, t.dir);
  const hash = createHash("sha256").update(
    `${goVersion()}\n${t.pkg}\n${(t.ldflags?.(moduleVersion(t)) ?? []).join(" ")}\n${JSON.stringify(t.env ?? {})}\n`,
  );
  const files = readdirSync(dir)
    .filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go"))
    .sort();
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(dir, f)));
  return hash.digest("hex").slice(0, 16);
}

const builtPath = (t: Tool) => join(CACHE, `${t.bin}-${toolKey(t)}`, t.bin);

/** The built binary, or undefined when `npm run toolchain` has not built this version; needs Go on PATH. */
export function toolPath(bin: string): string | undefined {
  if (spawnSync("go", ["version"]).status !== 0) return undefined;
  const path = builtPath(tool(bin));
  return existsSync(path) ? path : undefined;
}

/** Builds `t` unless its key is cached; returns the binary's path and whether it was built now. */
export function build(t: Tool, log: (line: string) => void): { path: string; built: boolean } {
  const path = builtPath(t);
  if (existsSync(path)) return { path, built: false };
  const dir = join(SOURCES, t.dir);
  const env = { ...process.env, ...t.env };
  const go = (args: string[]) => execFileSync("go", args, { cwd: dir, env, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (t.copy) {
    // `go list -m` names no folder for a module not yet in the module cache; download does both.
    const moduleDir = (JSON.parse(go(["mod", "download", "-json", t.module])) as { Dir: string }).Dir;
    copyFileSync(join(moduleDir, t.copy.from), join(dir, t.copy.to));
  }
  // Built beside the final place and renamed into it, so an interrupted build leaves no binary.
  const tmp = `${path}.partial`;
  mkdirSync(join(path, ".."), { recursive: true });
  rmSync(tmp, { force: true });
  const version = moduleVersion(t);
  log(`building ${t.bin} (${t.module} ${version}) in toolchain/${t.dir}`);
  go(["build", "-o", tmp, "-ldflags", ["-s", "-w", ...(t.ldflags?.(version) ?? [])].join(" "), t.pkg]);
  renameSync(tmp, path);
  // Older builds of the same binary are stale pins: removed, so the cache holds one of each.
  const current = `${t.bin}-${toolKey(t)}`;
  for (const d of readdirSync(CACHE)) {
    if (d !== current && d.startsWith(`${t.bin}-`) && /^[0-9a-f]{16}$/.test(d.slice(t.bin.length + 1)))
      rmSync(join(CACHE, d), { recursive: true, force: true });
  }
  return { path, built: true };
}

if (require.main === module) {
  try {
    const only = process.argv.slice(2);
    const chosen = only.length ? only.map(tool) : TOOLS;
    for (const t of chosen) {
      const start = Date.now();
      const { path, built } = build(t, (line) => process.stdout.write(`${line}\n`));
      const took = built ? `built in ${Math.round((Date.now() - start) / 1000)} s` : "cached";
      process.stdout.write(`${t.bin} ${moduleVersion(t)}: ${took} (${path})\n`);
    }
  } catch (e) {
    // Go's own output (stderr, passed through) says what failed; this names the step.
    console.error(`npm run toolchain: ${(e as Error).message.split("\n")[0]}`);
    process.exit(1);
  }
}
