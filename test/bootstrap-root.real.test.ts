/**
 * Every command a rendered bootstrap runs exists on the host it first boots on, or is installed
 * before the line that runs it. The host is a Debian root made by debootstrap from the mirror apt
 * uses here: `--variant=minbase` plus what a Debian cloud image carries beyond it that the
 * bootstrap may rely on (CLOUD_IMAGE). What the bootstrap installs itself (its apt packages, k3s)
 * counts only after the line that installs it. The script is not executed (it would start k3s):
 * its commands are read from its text, in order, and looked up inside the root with `command -v`.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGES, renderBootstrapScript } from "../components/k3s/bootstrap";
import { variants } from "./bootstrapVariants";
import { requireTool } from "./harness";
import { commandsOf } from "./shellCommands";

/**
 * A Debian cloud image is a systemd host with the "important" tools minbase leaves out: systemctl
 * and timedatectl (systemd), ip (iproute2), sysctl (procps), modprobe (kmod). Not iptables (Debian
 * made it optional; nftables is the default firewall) and not nftables itself, which the
 * bootstrap installs, so the check does not lean on an image that happens to have it.
 */
const CLOUD_IMAGE = ["systemd", "systemd-sysv", "iproute2", "procps", "kmod"];
/**
 * Commands the script runs only where their absence is handled: cloud-init behind `command -v`,
 * and k3s, whose version guard reads the running version (none on a fresh host) and which k3s's
 * own install script provides afterwards, downloaded from GitHub rather than from Debian.
 */
const HANDLED_WHEN_ABSENT = new Set(["cloud-init", "k3s"]);
const DEBOOTSTRAP_TIMEOUT_MS = 600_000;

const root = process.getuid?.() === 0;
if (!root && process.env.CI) throw new Error("debootstrap needs root");
if (!root) console.warn("skipping: debootstrap needs root");
const ready = root && requireTool("debootstrap") && requireTool("chroot", "coreutils");

/** The Debian mirror and suite apt uses on this machine (the first `deb` source that is not security). */
function aptSource(): { mirror: string; suite: string } {
  const files = ["/etc/apt/sources.list", ...readdirSync("/etc/apt/sources.list.d").map((f) => `/etc/apt/sources.list.d/${f}`)];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, "utf8");
    const deb822 = /^URIs:\s*(\S*\/debian)\s*$[\s\S]*?^Suites:\s*(\S+)/m.exec(text);
    if (deb822) return { mirror: deb822[1], suite: deb822[2] };
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S*\/debian)\s+(\S+)/m.exec(text);
    if (oneLine) return { mirror: oneLine[1], suite: oneLine[2] };
  }
  throw new Error("no Debian source in /etc/apt/sources.list*: debootstrap needs a mirror");
}

/** A debootstrapped root with `packages` on top of minbase, made once per package list and kept in the temp dir. */
function debianRoot(packages: string[]): string {
  const { mirror, suite } = aptSource();
  const key = createHash("sha256")
    .update(`${mirror} ${suite} ${packages.join(",")}`)
    .digest("hex")
    .slice(0, 12);
  const dir = join(tmpdir(), `enclii-debian-root-${suite}-${key}`);
  if (existsSync(join(dir, "usr/bin/apt-get"))) return dir;
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  const r = spawnSync("debootstrap", ["--variant=minbase", `--include=${packages.join(",")}`, suite, staging, mirror], {
    encoding: "utf8",
    timeout: DEBOOTSTRAP_TIMEOUT_MS,
  });
  if (r.status !== 0)
    throw new Error(`debootstrap ${suite} from ${mirror}: ${(r.stdout + r.stderr).trim().split("\n").slice(-5).join("\n")}`);
  renameSync(staging, dir);
  return dir;
}

/** The commands (names, or absolute paths) that exist inside `dir`, of those asked. */
function present(dir: string, commands: string[]): Set<string> {
  const check = commands.map((c) => (c.startsWith("/") ? `[ -x ${c} ] && echo ${c}` : `command -v ${c} >/dev/null && echo ${c}`));
  const r = spawnSync(
    "chroot",
    [
      dir,
      "/bin/sh",
      "-c",
      `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n${check.map((c) => `${c} || true`).join("\n")}`,
    ],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`chroot ${dir}: ${r.stderr}`);
  return new Set(r.stdout.split("\n").filter(Boolean));
}

/** Bash's own lists of its builtins and reserved words: never looked up on PATH. */
function bashWords(): Set<string> {
  const r = spawnSync("bash", ["-c", "compgen -b; compgen -k"], { encoding: "utf8" });
  return new Set(r.stdout.split("\n").filter(Boolean));
}

/**
 * What `script` runs that a Debian cloud image lacks and the script has not installed (or written)
 * by then: one line per use, empty when every command is there in time. `image` is the cloud image's
 * root, `installed` that root with the script's apt packages.
 */
function missingCommands(script: string, image: string, installed: string, builtins: Set<string>): string[] {
  const lines = script.split("\n");
  const installLine = lines.findIndex((l) => /\bapt-get\b.*\binstall\b/.test(l)) + 1;
  const written = new Map<string, number>();
  lines.forEach((l, i) => {
    const file = /^cat > (\/\S+) <</.exec(l)?.[1];
    if (file) written.set(file, i + 1);
  });
  const functions = new Set<string>();
  const uses = commandsOf(script, functions).filter(
    (u) => !builtins.has(u.command) && !functions.has(u.command) && !HANDLED_WHEN_ABSENT.has(u.command),
  );
  const names = [...new Set(uses.map((u) => u.command))];
  const inImage = present(image, names);
  const afterInstall = present(installed, names);
  return uses.flatMap(({ command, line }) => {
    if (inImage.has(command) || (written.get(command) ?? Infinity) < line) return [];
    if (afterInstall.has(command) && installLine > 0 && installLine < line) return [];
    if (afterInstall.has(command))
      return [`line ${line}: ${command} runs before the apt-get install that provides it (line ${installLine})`];
    return [`line ${line}: ${command} is not in a Debian cloud image, and nothing before this line installs it`];
  });
}

describe.runIf(ready)("each rendered bootstrap against a minimal Debian root", () => {
  let image = "";
  let installed = "";
  let builtins = new Set<string>();
  beforeAll(() => {
    image = debianRoot(CLOUD_IMAGE);
    installed = debianRoot([...CLOUD_IMAGE, ...PACKAGES]);
    builtins = bashWords();
  }, 2 * DEBOOTSTRAP_TIMEOUT_MS);

  it.each(Object.entries(variants))("%s: every command is in the image or installed before it runs", (_, o) => {
    expect(missingCommands(renderBootstrapScript(o), image, installed, builtins)).toEqual([]);
  });

  it("names a command the image lacks, and one run before the install that provides it", () => {
    const script = [
      "#!/usr/bin/env bash",
      'iface=$(ip -o -4 route show to default | awk "{print \\$5}")',
      'iptables -t nat -A POSTROUTING -o "$iface" -j MASQUERADE',
      'if [ "$(nft list tables)" = "" ]; then echo none; fi',
      "apt-get install -y -q nftables",
      "nft -f /etc/enclii/nat.nft",
    ].join("\n");
    expect(missingCommands(script, image, installed, builtins)).toEqual([
      "line 3: iptables is not in a Debian cloud image, and nothing before this line installs it",
      "line 4: nft runs before the apt-get install that provides it (line 5)",
    ]);
  });
});
