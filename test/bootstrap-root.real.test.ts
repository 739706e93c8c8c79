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
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGES, renderBootstrapScript } from "../components/k3s/bootstrap";
import { APT_TIMERS, AUTO_UPGRADES_CONF, renderOsPatchesSection, SECURITY_ORIGINS } from "../components/k3s/osPatches";
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

  it("has the unit files of the timers the OS updates section enables (the apt package's, in the image itself)", () => {
    for (const timer of APT_TIMERS) expect(existsSync(join(image, "lib/systemd/system", timer)), timer).toBe(true);
  });

  it("installs the kernel hook that leaves kured's sentinel, /var/run/reboot-required, after a kernel update", () => {
    // unattended-upgrades' kernel/postinst.d/unattended-upgrades, run by each linux-image package's postinst.
    const hook = "/etc/kernel/postinst.d/unattended-upgrades";
    const run = spawnSync(
      "chroot",
      [installed, "env", "DPKG_MAINTSCRIPT_PACKAGE=linux-image-6.1.0-99-amd64", "DPKG_MAINTSCRIPT_NAME=postinst", hook],
      {
        encoding: "utf8",
      },
    );
    try {
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(join(installed, "run/reboot-required"), "utf8")).toBe("");
      expect(readFileSync(join(installed, "run/reboot-required.pkgs"), "utf8")).toBe("linux-image-6.1.0-99-amd64\n");
    } finally {
      rmSync(join(installed, "run/reboot-required"), { force: true });
      rmSync(join(installed, "run/reboot-required.pkgs"), { force: true });
    }
  });

  describe("the apt config the OS updates section writes, read by the root's own apt-config and unattended-upgrade", () => {
    /** Inside the root, so its apt and Python see it at `/${inRoot}`; the package's own apt.conf.d copied in. */
    let dir = "";
    let inRoot = "";
    beforeAll(() => {
      dir = mkdtempSync(join(installed, "tmp/enclii-apt-"));
      inRoot = dir.slice(installed.length);
      cpSync(join(installed, "etc/apt/apt.conf.d"), join(dir, "defaults"), { recursive: true });
      cpSync(join(dir, "defaults"), join(dir, "apt.conf.d"), { recursive: true });
      mkdirSync(join(dir, "state"));
      mkdirSync(join(dir, "bin"));
      writeFileSync(join(dir, "bin/systemctl"), "#!/bin/sh\n", { mode: 0o755 });
      const section = renderOsPatchesSection()
        .replaceAll("/etc/apt/apt.conf.d", `${dir}/apt.conf.d`)
        .replaceAll("/var/lib/enclii", `${dir}/state`);
      const r = spawnSync("bash", ["-c", `set -euo pipefail\nlog() { :; }\n${section}`], {
        env: { PATH: `${dir}/bin:${process.env.PATH}` },
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`the OS updates section: ${r.stderr}`);
      for (const parts of ["apt.conf.d", "defaults"]) writeFileSync(join(dir, `${parts}.conf`), `Dir::Etc::Parts "${inRoot}/${parts}/";\n`);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** `apt-config dump` inside the root, reading `parts` (the package's defaults, or those plus ours). */
    const dump = (parts: "apt.conf.d" | "defaults") => {
      const r = spawnSync("chroot", [installed, "env", `APT_CONFIG=${inRoot}/${parts}.conf`, "apt-config", "dump"], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`apt-config dump: ${r.stderr}`);
      return r.stdout
        .split("\n")
        .filter((l) => /^(Unattended-Upgrade::(Allowed-Origins|Origins-Pattern|Automatic-Reboot)|APT::Periodic::)/.test(l));
    };

    it("leaves the security suites and no automatic reboot, the package's own lists cleared; the periodic run on", () => {
      expect(dump("apt.conf.d")).toEqual([
        'APT::Periodic::Update-Package-Lists "1";',
        'APT::Periodic::Unattended-Upgrade "1";',
        'Unattended-Upgrade::Origins-Pattern "";',
        ...SECURITY_ORIGINS.map((o) => `Unattended-Upgrade::Origins-Pattern:: "${o}";`),
        'Unattended-Upgrade::Automatic-Reboot "false";',
      ]);
      // Without our file, the package's default also allows Debian's point releases.
      expect(dump("defaults")).toContain('Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian";');
    });

    it("writes 20auto-upgrades byte for byte as the package ships it, so ucf never asks about it", () => {
      expect(readFileSync(join(dir, "apt.conf.d", AUTO_UPGRADES_CONF.split("/").pop()!), "utf8")).toBe(
        readFileSync(join(installed, "usr/share/unattended-upgrades/20auto-upgrades"), "utf8"),
      );
    });

    it("lets unattended-upgrade's own matcher take Debian's and Ubuntu's security suites, and not their other archives", () => {
      /**
       * Each archive's Release-file fields: deb.debian.org's dists/<codename>{,-updates}/InRelease and
       * debian-security's dists/<codename>-security/InRelease; archive.ubuntu.com's dists/noble{,-updates,-security}/InRelease.
       * The matcher is unattended-upgrade's match_whitelist_string over get_allowed_origins, as its run calls them.
       */
      const script = `
import importlib.machinery, importlib.util, json, sys, types
loader = importlib.machinery.SourceFileLoader("uu", "/usr/bin/unattended-upgrade")
uu = importlib.util.module_from_spec(importlib.util.spec_from_loader("uu", loader))
loader.exec_module(uu)
def archive(origin, label, suite, codename):
    return types.SimpleNamespace(origin=origin, label=label, archive=suite, codename=codename, component="main", site="")
distros = {
    "Debian": (uu.DISTRO_CODENAME, lambda c: {
        "main": archive("Debian", "Debian", "stable", c),
        "updates": archive("Debian", "Debian", "stable-updates", c + "-updates"),
        "security": archive("Debian", "Debian-Security", "stable-security", c + "-security"),
    }),
    "Ubuntu": ("noble", lambda c: {
        "release": archive("Ubuntu", "Ubuntu", c, c),
        "updates": archive("Ubuntu", "Ubuntu", c + "-updates", c),
        "security": archive("Ubuntu", "Ubuntu", c + "-security", c),
    }),
}
allowed = {}
for distro, (codename, archives) in distros.items():
    uu.DISTRO_ID, uu.DISTRO_CODENAME = distro, codename
    origins = uu.get_allowed_origins()
    allowed[distro] = sorted(n for n, a in archives(codename).items() if any(uu.match_whitelist_string(o, a) for o in origins))
print(json.dumps(allowed))
`;
      const allowed = (parts: "apt.conf.d" | "defaults") => {
        const r = spawnSync("chroot", [installed, "env", `APT_CONFIG=${inRoot}/${parts}.conf`, "python3", "-c", script], {
          encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`unattended-upgrade's matcher: ${r.stderr}`);
        return JSON.parse(r.stdout);
      };
      expect(allowed("apt.conf.d")).toEqual({ Debian: ["security"], Ubuntu: ["release", "security"] });
      expect(allowed("defaults").Debian).toEqual(["main", "security"]);
    });
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
