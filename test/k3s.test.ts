import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FAKE_RUN_TOKEN } from "../automation/mocks";
import { MINT_TOKEN_SCRIPT, PULUMI_ACCOUNT, RUN_TOKEN_TTL_S, remoteTokenCommand, renderAccountScript } from "../components/k3s/credential";
import {
  K3S_INSTALL_CHECK,
  K3S_VERSION_GUARD,
  natRules,
  PACKAGES,
  RESOLVED_DROP_IN,
  renderAuditPolicy,
  renderBootstrapScript,
  renderK3sConfig,
} from "../components/k3s/bootstrap";
import { longhornValues } from "../components/k3s/Longhorn";
import { renderDrainScript, renderUncordonScript } from "../components/k3s/upgrade";
import {
  AUTO_UPGRADES_CONF,
  renderAutoUpgradesConf,
  renderOsPatchesSection,
  renderUnattendedUpgradesConf,
  UNATTENDED_UPGRADES_CONF,
} from "../components/k3s/osPatches";
import { maintenanceSchema } from "../model/config/maintenance";
import { CHARTS, K3S_INSTALL_SCRIPT } from "../model/pins";
import { longhornReplicas } from "../model/rules/environment";
import {
  find,
  isSecret,
  one,
  recordResources,
  requireTool,
  resolve,
  settled,
  shellcheck,
  validateObject,
  type Registered,
} from "./harness";
import { server, variants } from "./bootstrapVariants";

describe("k3s config", () => {
  it("hardens the first server and disables what the tunnel and Longhorn replace", () => {
    expect(parse(renderK3sConfig(server))).toEqual({
      "advertise-address": "203.0.113.10",
      "cluster-cidr": "10.42.0.0/16",
      "cluster-init": true,
      disable: ["traefik", "servicelb", "local-storage"],
      "etcd-expose-metrics": true,
      "node-ip": "203.0.113.10",
      "node-name": "ax41-1",
      "protect-kernel-defaults": true,
      "secrets-encryption": true,
      "service-cidr": "10.43.0.0/16",
      "tls-san": ["203.0.113.10"],
      "token-file": "/etc/rancher/k3s/enclii-token",
      "write-kubeconfig-mode": "0600",
      "kube-apiserver-arg": [
        "audit-policy-file=/etc/rancher/k3s/audit-policy.yaml",
        "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log",
        "audit-log-maxage=30",
        "audit-log-maxbackup=10",
        "audit-log-maxsize=100",
      ],
    });
  });

  it("writes the audit policy on servers: metadata only (no Secret values), no probes, leases or events", () => {
    const script = renderBootstrapScript(server);
    expect(script).toContain(`cat > /etc/rancher/k3s/audit-policy.yaml <<'AUDIT'\n${renderAuditPolicy().trimEnd()}\nAUDIT`);
    const policy = parse(renderAuditPolicy());
    expect(policy.rules.at(-1)).toEqual({ level: "Metadata" });
    expect(JSON.stringify(policy)).not.toMatch(/Request(Response)?"/);
    expect(renderBootstrapScript(variants["cloud private agent"])).not.toContain("audit-policy");
    expect(parse(renderK3sConfig(variants["cloud private agent"]))["kube-apiserver-arg"]).toBeUndefined();
  });

  it("waits for cloud-init and a synchronised clock, holds dpkg's lock patiently and retries downloads", () => {
    const script = renderBootstrapScript(server);
    expect(script).toContain("cloud-init status --wait");
    expect(script).toContain('until [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" = "yes" ]; do');
    expect(script).toContain("apt-get -o DPkg::Lock::Timeout=600 install -y -q");
    expect(script).toContain("curl -sfL --retry 5 --retry-all-errors");
    expect(script.indexOf("cloud-init status --wait")).toBeLessThan(script.indexOf("apt-get"));
  });

  it("joins later servers and agents to the first server; agents get no server flags", () => {
    const agent = parse(renderK3sConfig(variants["cloud private agent"]));
    expect(agent).toEqual({
      "node-ip": "10.0.1.12",
      "node-name": "ax41-1",
      "protect-kernel-defaults": true,
      server: "https://10.0.1.10:6443",
      "token-file": "/etc/rancher/k3s/enclii-token",
    });
    const joiner = parse(renderK3sConfig(variants["cloud private server"]));
    expect(joiner.server).toBe("https://10.0.1.10:6443");
    expect(joiner["cluster-init"]).toBeUndefined();
  });

  it("snapshots etcd to S3 from a kube-system Secret, so no credential is in the config", () => {
    const config = parse(renderK3sConfig({ ...server, etcdS3ConfigSecret: "k3s-etcd-snapshot-s3-config" }));
    expect(config).toMatchObject({ "etcd-s3": true, "etcd-s3-config-secret": "k3s-etcd-snapshot-s3-config" });
    expect(parse(renderK3sConfig(server))["etcd-s3"]).toBeUndefined();
  });

  it("encrypts pod traffic with WireGuard when nodes talk over the internet", () => {
    expect(parse(renderK3sConfig(variants["dedicated peer"]))["flannel-backend"]).toBe("wireguard-native");
    expect(parse(renderK3sConfig(server))["flannel-backend"]).toBeUndefined();
  });
});

describe("bootstrap script", () => {
  it.each(Object.entries(variants))("%s is shellcheck-clean", (_, o) => {
    if (!requireTool("shellcheck")) return;
    expect(shellcheck(renderBootstrapScript(o))).toBe("");
  });

  it("pins the k3s version, and the install script by commit and sha256; reads the token from stdin", () => {
    const s = renderBootstrapScript(server);
    expect(s).toContain("K3S_VERSION='v1.33.4+k3s1'");
    expect(K3S_INSTALL_SCRIPT.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(K3S_INSTALL_SCRIPT.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(s).toContain(`K3S_INSTALL_URL='https://raw.githubusercontent.com/k3s-io/k3s/${K3S_INSTALL_SCRIPT.commit}/install.sh'`);
    expect(s).toContain(`K3S_INSTALL_SHA256='${K3S_INSTALL_SCRIPT.sha256}'`);
    expect(s).toContain("IFS= read -r K3S_TOKEN");
    expect(s).not.toMatch(/get\.k3s\.io/);
    // Downloaded, then checked, and only then run.
    const download = s.indexOf('-o "$K3S_INSTALL_SCRIPT"');
    const check = s.indexOf("| sha256sum -c --status; then");
    const run = s.indexOf('INSTALL_K3S_EXEC=server sh "$K3S_INSTALL_SCRIPT"');
    expect(download).toBeGreaterThan(0);
    expect(check).toBeGreaterThan(download);
    expect(run).toBeGreaterThan(check);
  });

  it("only reinstalls when the version or the config changed (idempotent re-runs)", () => {
    const s = renderBootstrapScript(server);
    // On a running node, the change is shown before the restart that applies it.
    expect(s).toContain("diff -u /etc/rancher/k3s/config.yaml /etc/rancher/k3s/config.yaml.new >&2 || true");
    expect(s.indexOf("diff -u /etc/rancher/k3s/config.yaml")).toBeLessThan(s.indexOf('log "installing k3s $K3S_VERSION"'));
    expect(s).toContain('wanted="$K3S_VERSION $(sha256sum /etc/rancher/k3s/config.yaml');
    expect(s).toMatch(/if \[ "\$\(cat \/var\/lib\/enclii\/k3s-installed[^\n]*" != "\$wanted" \]; then/);
  });

  it("sets egress and NAT only where needed", () => {
    expect(renderBootstrapScript(variants["cloud private agent"])).toContain("ip route replace default via 10.0.0.1");
    expect(renderBootstrapScript(variants["cloud gateway"])).toContain(natRules("10.0.0.0/16", "$iface").trimEnd());
    expect(renderBootstrapScript(server)).not.toMatch(/masquerade|route replace default/);
    expect(renderBootstrapScript(variants["cloud gateway"])).not.toContain("enclii-firewall");
  });

  it("masquerades with nft, after the package install that brings nftables; never iptables", () => {
    const s = renderBootstrapScript(variants["cloud gateway"]);
    expect(s).not.toContain("iptables");
    expect(s.indexOf("nft -f - <<RULES")).toBeGreaterThan(s.indexOf('apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"'));
    expect(PACKAGES).toContain("nftables");
    expect(s).toContain("sysctl -q -w net.ipv4.ip_forward=1");
  });

  it("writes a host firewall that admits only admin CIDRs to 22 and 6443, plus cluster peers", () => {
    const s = renderBootstrapScript(variants["dedicated peer"]);
    expect(s).toContain("type filter hook input priority filter + 10; policy drop;");
    // Pod traffic is admitted by interface; a pod-range source elsewhere is dropped before routing.
    expect(s).toContain(
      'iifname { "cni0", "flannel.1", "flannel-wg" } tcp dport { 2381, 6443, 9100, 10250 } accept comment "pods to the API server, kubelet and metrics"',
    );
    expect(s).not.toMatch(/iifname \{[^}]*\} accept/);
    expect(s).toContain('ip saddr { 10.42.0.0/16, 10.43.0.0/16 } iifname != { "lo", "cni0", "flannel.1", "flannel-wg" } counter drop');
    expect(s).not.toMatch(/^\s*ip saddr 10\.42\.0\.0\/16 accept/m);
    expect(s).toContain('tcp dport { 22, 6443 } ip saddr { 198.51.100.7/32 } accept comment "admin CIDRs"');
    expect(s).toContain('ip saddr { 203.0.113.11 } accept comment "cluster peers"');
    // Only our own table is replaced: flushing the ruleset would wipe k3s's rules.
    expect(s).not.toContain("flush ruleset");
  });
});

describe("the install script's sha256 check (run by bash)", () => {
  const dir = mkdtempSync(join(tmpdir(), "enclii-k3s-install-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, "k3s-install.sh");
  const body = "#!/bin/sh\necho installing\n";
  const sha256 = createHash("sha256").update(body).digest("hex");
  /** The check as the bootstrap runs it, against `script` holding `body`, expecting `expected`. */
  const run = (expected: string) => {
    writeFileSync(script, body);
    return spawnSync(
      "bash",
      [
        "-c",
        `set -euo pipefail\nlog() { echo "$*"; }\nK3S_INSTALL_URL=https://example.invalid/install.sh\nK3S_INSTALL_SHA256=${expected}\nK3S_INSTALL_SCRIPT=${script}\n${K3S_INSTALL_CHECK}\necho checked`,
      ],
      { encoding: "utf8" },
    );
  };

  it("lets the script with the pinned sha256 through, untouched", () => {
    const r = run(sha256);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("checked\n");
    expect(readFileSync(script, "utf8")).toBe(body);
  });

  it("refuses any other script, says why, and deletes it", () => {
    const pinned = "0".repeat(64);
    const r = run(pinned);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      `refusing to run the k3s install script: https://example.invalid/install.sh has sha256 ${sha256}, not the pinned ${pinned} (K3S_INSTALL_SCRIPT in model/pins.ts)\n`,
    );
    expect(existsSync(script)).toBe(false);
  });

  it("is what the bootstrap runs", () => {
    expect(renderBootstrapScript(server)).toContain(K3S_INSTALL_CHECK.replace(/^/gm, "  "));
  });
});

describe("k3s version guard (run by bash against a stand-in k3s)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-k3s-guard-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  /** The guard as the script runs it, with `k3s --version` answering `running` (none: no k3s). */
  const run = (running: string | undefined, wanted: string) => {
    const bin = join(tmp, running ?? "none");
    spawnSync("mkdir", ["-p", bin]);
    if (running)
      writeFileSync(join(bin, "k3s"), `#!/bin/sh\necho "k3s version ${running} (4f5a6c2b)"\necho "go version go1.24.6"\n`, { mode: 0o755 });
    return spawnSync(
      "bash",
      ["-c", `set -euo pipefail\nlog() { echo "$*"; }\nK3S_VERSION='${wanted}'\n${K3S_VERSION_GUARD}\necho "ok running=$running"`],
      {
        env: { PATH: `${bin}:/usr/bin:/bin` },
        encoding: "utf8",
      },
    );
  };

  it("lets a first install, the same version, a patch and one minor up through", () => {
    expect(run(undefined, "v1.35.8+k3s1").stdout).toBe("ok running=\n");
    expect(run("v1.35.8+k3s1", "v1.35.8+k3s1").stdout).toBe("ok running=v1.35.8+k3s1\n");
    expect(run("v1.34.3+k3s1", "v1.34.11+k3s1").status).toBe(0);
    expect(run("v1.34.11+k3s1", "v1.35.8+k3s1").status).toBe(0);
  });

  it("refuses skipping a minor and a downgrade, saying what to do", () => {
    const skip = run("v1.33.4+k3s1", "v1.35.8+k3s1");
    expect(skip.status).toBe(1);
    expect(skip.stdout).toBe(
      "k3s v1.33.4+k3s1 -> v1.35.8+k3s1 skips a minor: upgrade one minor at a time (set enclii:k3s.version to a v1.34 release, pulumi up, then the next)\n",
    );
    const down = run("v1.35.8+k3s1", "v1.34.11+k3s1");
    expect(down.status).toBe(1);
    expect(down.stdout).toBe("k3s v1.35.8+k3s1 -> v1.34.11+k3s1 is a downgrade, which k3s does not support\n");
  });
});

describe("the egress nodes' resolver drop-in (run by bash against a stand-in systemctl)", () => {
  const script = renderBootstrapScript(variants["cloud private agent"]);
  const snippet = script.slice(
    script.indexOf("mkdir -p /etc/systemd/resolved.conf.d"),
    script.indexOf("cat > /etc/systemd/system/enclii-default-route.service"),
  );
  const dir = mkdtempSync(join(tmpdir(), "enclii-resolved-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin/systemctl"), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`, { mode: 0o755 });
  const dropIn = `${dir}${RESOLVED_DROP_IN}`;
  const run = () =>
    spawnSync("bash", ["-c", `set -euo pipefail\n${snippet.replaceAll("/etc/systemd", `${dir}/etc/systemd`)}`], {
      env: { PATH: `${dir}/bin:${process.env.PATH}` },
      encoding: "utf8",
    });
  const restarts = () =>
    (existsSync(`${dir}/systemctl.log`) ? readFileSync(`${dir}/systemctl.log`, "utf8") : "")
      .split("\n")
      .filter((l) => l === "restart systemd-resolved").length;

  it("restarts systemd-resolved once for a new drop-in, not on a re-run, and again when it changed", () => {
    expect(run().status).toBe(0);
    expect(restarts()).toBe(1);
    expect(readFileSync(dropIn, "utf8")).toBe("[Resolve]\nDNS=185.12.64.1 185.12.64.2\n");
    expect(run().status).toBe(0);
    expect(restarts()).toBe(1);
    writeFileSync(dropIn, "[Resolve]\nDNS=192.0.2.53\n");
    expect(run().status).toBe(0);
    expect(restarts()).toBe(2);
    expect(readFileSync(dropIn, "utf8")).toBe("[Resolve]\nDNS=185.12.64.1 185.12.64.2\n");
    expect(existsSync(`${dropIn}.new`)).toBe(false);
  });
});

describe("OS security updates (run by bash against a stand-in systemctl)", () => {
  const dir = mkdtempSync(join(tmpdir(), "enclii-os-patches-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const d of ["bin", "state", "etc/apt/apt.conf.d"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "bin/systemctl"), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`, { mode: 0o755 });
  const section = renderOsPatchesSection().replaceAll("/etc/apt", `${dir}/etc/apt`).replaceAll("/var/lib/enclii", `${dir}/state`);
  const run = () =>
    spawnSync("bash", ["-c", `set -euo pipefail\nlog() { echo "$*"; }\n${section}`], {
      env: { PATH: `${dir}/bin:${process.env.PATH}` },
      encoding: "utf8",
    });
  const live = (file: string) => `${dir}${file}`;

  it("is what every bootstrap runs, after the apt-get install that brings unattended-upgrades", () => {
    expect(PACKAGES).toContain("unattended-upgrades");
    for (const o of Object.values(variants)) {
      const s = renderBootstrapScript(o);
      expect(s).toContain(renderOsPatchesSection());
      expect(s.indexOf(renderOsPatchesSection())).toBeGreaterThan(
        s.indexOf('apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"'),
      );
    }
  });

  it("writes each file when it is new or changed, and nothing on a re-run; the apt timers are enabled every time", () => {
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toBe(`OS updates: wrote ${live(AUTO_UPGRADES_CONF)}\nOS updates: wrote ${live(UNATTENDED_UPGRADES_CONF)}\n`);
    expect(readFileSync(live(AUTO_UPGRADES_CONF), "utf8")).toBe(renderAutoUpgradesConf());
    expect(readFileSync(live(UNATTENDED_UPGRADES_CONF), "utf8")).toBe(renderUnattendedUpgradesConf());
    const again = run();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe("");
    writeFileSync(live(AUTO_UPGRADES_CONF), 'APT::Periodic::Unattended-Upgrade "0";\n');
    const changed = run();
    expect(changed.stdout).toBe(`OS updates: wrote ${live(AUTO_UPGRADES_CONF)}\n`);
    expect(readFileSync(live(AUTO_UPGRADES_CONF), "utf8")).toBe(renderAutoUpgradesConf());
    expect(readdirSync(join(dir, "state"))).toEqual([]);
    expect(readFileSync(join(dir, "systemctl.log"), "utf8")).toBe("enable --now apt-daily.timer apt-daily-upgrade.timer\n".repeat(3));
  });

  it("allows the security suites only and never reboots (the apt config's own reading: test/bootstrap-root.real.test.ts)", () => {
    const conf = renderUnattendedUpgradesConf();
    expect(conf).toContain("#clear Unattended-Upgrade::Allowed-Origins;\n#clear Unattended-Upgrade::Origins-Pattern;\n");
    expect(conf).toContain('        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";\n');
    expect(conf).toContain('Unattended-Upgrade::Automatic-Reboot "false";\n');
    expect(renderAutoUpgradesConf()).toBe('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n');
  });
});

describe("host firewall lockout guard (run by bash)", () => {
  const script = renderBootstrapScript(variants.dedicated);
  // The guard alone; test/firewall.real.test.ts runs the whole section, staging and move included.
  const guard = script.slice(script.indexOf("ip_to_int() {"), script.indexOf("mv /etc/enclii/firewall.nft.new"));
  const run = (sshClient: string) =>
    spawnSync("bash", ["-c", `set -euo pipefail\nlog() { echo "$*"; }\n${guard}\necho applied`], {
      env: { SSH_CLIENT: sshClient, PATH: process.env.PATH },
      encoding: "utf8",
    });

  it.each([
    ["198.51.100.7 50000 22", true],
    ["192.0.2.77 50000 22", true],
    ["198.51.100.8 50000 22", false],
    ["2001:db8::1 50000 22", false],
    ["", true],
  ])("SSH from %j → applied %s", (client, applied) => {
    const r = run(client);
    expect(r.stdout.includes("applied")).toBe(applied);
    expect(r.status).toBe(applied ? 0 : 1);
    if (!applied) expect(r.stdout).toContain("would lock it out");
  });
});

describe("Longhorn values", () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
    [7, 3],
  ])("%i nodes → %i replicas", (nodes, replicas) => {
    expect(longhornReplicas(nodes)).toBe(replicas);
    const v = longhornValues(nodes, true, "s3://backups@auto/longhorn/") as any;
    expect(v.persistence).toEqual({ defaultClass: true, defaultClassReplicaCount: replicas, reclaimPolicy: "Retain" });
    expect(v.defaultSettings.defaultReplicaCount).toBe(replicas);
  });

  it("lets volumes go with their claims when unprotected", () => {
    expect((longhornValues(1, false, "s3://backups@auto/longhorn/") as any).persistence.reclaimPolicy).toBe("Delete");
  });
});

describe("K3sCluster and Longhorn components", () => {
  let all: Registered[];
  let cluster: InstanceType<typeof import("../components/k3s/K3sCluster").K3sCluster>;
  beforeAll(async () => {
    all = await recordResources();
    const pulumi = await import("@pulumi/pulumi");
    const { K3sCluster } = await import("../components/k3s/K3sCluster");
    const { Longhorn } = await import("../components/k3s/Longhorn");
    const node = (name: string, ip: string, publicIp?: string) => ({
      name,
      role: "server" as const,
      nodeIp: ip,
      publicIp: publicIp ? pulumi.output(publicIp) : undefined,
      connection: { host: publicIp ?? ip, user: "root", privateKey: pulumi.secret("key"), hostKey: `ssh-ed25519 AAAA-${name}` },
      network: "private" as const,
      hostFirewall: false,
      ready: [],
    });
    const r2 = { endpoint: "https://acct.r2.cloudflarestorage.com", accessKeyId: "key-id", secretAccessKey: pulumi.secret("key") };
    cluster = new K3sCluster("c", {
      nodes: [node("a", "10.0.1.10", "203.0.113.5"), node("b", "10.0.1.11"), node("c", "10.0.1.12")],
      version: "v1.33.4+k3s1",
      adminCidrs: ["198.51.100.7/32"],
      etcdSnapshots: { ...r2, bucket: "enclii-test-backups", folder: "etcd" },
      maintenance: maintenanceSchema.parse(undefined),
    });
    new Longhorn("lh", {
      nodeCount: 3,
      backupsKept: 14,
      provider: cluster.provider,
      protect: true,
      backup: { ...r2, url: "s3://enclii-test-backups@auto/longhorn/" },
    });
    await settled();
  });

  it("bootstraps one command per node, the first with cluster-init and the rest joining it", () => {
    const cmds = find(all, "command:remote:Command").filter((c) => c.name.endsWith("-bootstrap"));
    expect(cmds.map((c) => c.name)).toEqual(["c-a-bootstrap", "c-b-bootstrap", "c-c-bootstrap"]);
    expect(cmds[0].inputs.create).toContain("cluster-init: true");
    expect(cmds[1].inputs.create).toContain("server: https://10.0.1.10:6443");
    expect(cmds[0].inputs.create).toContain("  - 203.0.113.5");
  });

  it("drains before and uncordons after each bootstrap, over the first server's connection, with no secret", () => {
    const cmds = find(all, "command:remote:Command");
    const steps = (suffix: string) => cmds.filter((c) => c.name.endsWith(suffix));
    expect(steps("-drain").map((c) => c.name)).toEqual(["c-a-drain", "c-b-drain", "c-c-drain"]);
    expect(steps("-uncordon").map((c) => c.name)).toEqual(["c-a-uncordon", "c-b-uncordon", "c-c-uncordon"]);
    const maintenance = maintenanceSchema.parse(undefined);
    for (const [i, node] of ["a", "b", "c"].entries()) {
      const [drain, uncordon] = [steps("-drain")[i], steps("-uncordon")[i]];
      expect(drain.inputs.create).toBe(renderDrainScript({ nodeName: node, k3sVersion: "v1.33.4+k3s1", maintenance }));
      expect(uncordon.inputs.create).toBe(renderUncordonScript({ nodeName: node, k3sVersion: "v1.33.4+k3s1" }));
      for (const step of [drain, uncordon]) {
        expect(step.inputs.connection.host, step.name).toBe("203.0.113.5");
        expect(step.inputs.stdin, step.name).toBeUndefined();
      }
    }
  });

  it("joins with a random 48-character token", () => {
    expect(one(all, "random:index/randomPassword:RandomPassword", "c-token").inputs).toMatchObject({ length: 48, special: false });
  });

  it("makes the platform's account on the first server, revoking the everlasting token earlier versions kept", () => {
    expect(one(all, "command:remote:Command", "c-accounts").inputs).toMatchObject({ create: renderAccountScript() });
    expect(renderAccountScript()).toContain("delete secret enclii-pulumi-token --ignore-not-found");
    expect(renderAccountScript()).not.toContain("service-account-token");
  });

  it("mints a two-hour token per run over SSH and gives the provider a kubeconfig with it, at the public endpoint", async () => {
    expect(RUN_TOKEN_TTL_S).toBe(7200);
    const kubeconfig = parse(await resolve(cluster.kubeconfig));
    expect(kubeconfig.users).toEqual([{ name: PULUMI_ACCOUNT, user: { token: FAKE_RUN_TOKEN } }]);
    expect(kubeconfig.clusters[0].cluster.server).toBe("https://203.0.113.5:6443");
    expect(await isSecret(cluster.kubeconfig)).toBe(true);
    expect(await resolve(cluster.apiEndpoint)).toBe("https://203.0.113.5:6443");
    expect(await isSecret(cluster.caData)).toBe(false);
    expect(await resolve(cluster.tokenMint)).toMatchObject({ host: "203.0.113.5", port: 22, user: "root" });
    expect(remoteTokenCommand(PULUMI_ACCOUNT, RUN_TOKEN_TTL_S)).toContain("create token enclii-pulumi --duration=7200s");
    expect(MINT_TOKEN_SCRIPT).toContain("StrictHostKeyChecking=yes");
  });

  it("snapshots and backs up every volume of the default group daily, keeping the configured backups", async () => {
    const jobs = find(all, "kubernetes:longhorn.io/v1beta2:RecurringJob").filter((j) => j.name.startsWith("lh-"));
    expect(jobs.map((j) => [j.inputs.metadata.name, j.inputs.spec])).toEqual([
      ["daily-snapshot", { name: "daily-snapshot", task: "snapshot", cron: "0 2 * * *", retain: 7, concurrency: 1, groups: ["default"] }],
      ["daily-backup", { name: "daily-backup", task: "backup", cron: "0 3 * * *", retain: 14, concurrency: 1, groups: ["default"] }],
    ]);
    for (const j of jobs) await expect(validateObject(j.inputs as never), j.name).resolves.toBeUndefined();
  });

  it("installs a pinned Longhorn chart into a privileged namespace", () => {
    const release = one(all, "kubernetes:helm.sh/v3:Release", "lh-release");
    expect(release.inputs).toMatchObject({
      chart: "longhorn",
      version: CHARTS.longhorn.version,
      repositoryOpts: { repo: "https://charts.longhorn.io" },
      namespace: "longhorn-system",
    });
    expect(release.inputs.values.persistence.defaultClassReplicaCount).toBe(3);
    expect(one(all, "kubernetes:core/v1:Namespace", "lh-namespace").inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe(
      "privileged",
    );
  });
});
