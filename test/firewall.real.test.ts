/**
 * The host firewall as the kernel runs it: the rendered nftables ruleset loaded into a host's
 * own network namespace with a public interface (an attacker behind it) and a pod interface
 * (`cni0`, a pod behind it), and the bootstrap's firewall section run by bash against temp paths.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREWALL_FILE, NAT_SCRIPT, nftRules, renderBootstrapScript, type BootstrapOptions } from "../components/k3s/bootstrap";
import { requirePods, requireTool } from "./harness";

const ready = requirePods() && requireTool("nft", "nftables");
const NS = { host: "enclii-fw-host", attacker: "enclii-fw-pub", pod: "enclii-fw-pod" };
const HOST_PUBLIC = "203.0.113.1";
const ATTACKER = "203.0.113.2";
/** An address in k3s's pod range, forged by the attacker. */
const FORGED_POD = "10.42.7.7";
const POD = "10.42.0.9";
/** A port nothing but pods may reach (the kubelet's). */
const KUBELET = 10250;
const API = 6443;
/** Ports on the host no pod needs: sshd, and etcd's client port. */
const SSH = 22;
const ETCD_CLIENT = 2379;
const LISTENED = [KUBELET, API, SSH, ETCD_CLIENT];
/** A connection that gets no answer is given up after this long: its absence is the expected result. */
const GIVE_UP_MS = 3000;

function sh(cmd: string): string {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Tries a TCP connection from `ns`, optionally from a chosen source address: "connected" or why not. */
function connect(ns: string, host: string, port: number, localAddress?: string): string {
  const script = `const s=require("net").connect({host:${JSON.stringify(host)},port:${port}${localAddress ? `,localAddress:${JSON.stringify(localAddress)}` : ""}});
s.setTimeout(${GIVE_UP_MS},()=>{console.log("no answer");process.exit(0)});
s.on("connect",()=>{console.log("connected");process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)});`;
  return spawnSync("ip", ["netns", "exec", ns, process.execPath, "-e", script], { encoding: "utf8" }).stdout.trim();
}

function dropCounter(): number {
  const listing = sh(`ip netns exec ${NS.host} nft list chain inet enclii_host prerouting`);
  return Number(/counter packets (\d+)/.exec(listing)?.[1] ?? NaN);
}

describe.runIf(ready)("the host firewall in a network namespace", () => {
  const accepted: string[] = [];
  let server: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    for (const ns of Object.values(NS)) spawnSync("ip", ["netns", "del", ns]);
    for (const ns of Object.values(NS)) sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    // The public side: the attacker can send anything to the host's public address.
    sh(`ip link add fw-eth0 netns ${NS.host} type veth peer name fw-peer netns ${NS.attacker}`);
    sh(`ip -n ${NS.host} link set fw-eth0 name eth0 && ip -n ${NS.attacker} link set fw-peer name eth0`);
    sh(`ip -n ${NS.host} addr add ${HOST_PUBLIC}/24 dev eth0 && ip -n ${NS.host} link set eth0 up`);
    sh(
      `ip -n ${NS.attacker} addr add ${ATTACKER}/24 dev eth0 && ip -n ${NS.attacker} addr add ${FORGED_POD}/32 dev eth0 && ip -n ${NS.attacker} link set eth0 up`,
    );
    // Replies to the forged address would go back out of the public side: a forged SYN that got
    // in would be answered, so acceptance is observable.
    sh(`ip -n ${NS.host} route add ${FORGED_POD}/32 via ${ATTACKER} dev eth0`);
    // The pod side, on the interface k3s's bridge has.
    sh(`ip link add fw-cni0 netns ${NS.host} type veth peer name fw-pod netns ${NS.pod}`);
    sh(`ip -n ${NS.host} link set fw-cni0 name cni0 && ip -n ${NS.pod} link set fw-pod name eth0`);
    sh(`ip -n ${NS.host} addr add 10.42.0.1/24 dev cni0 && ip -n ${NS.host} link set cni0 up`);
    sh(
      `ip -n ${NS.pod} addr add ${POD}/24 dev eth0 && ip -n ${NS.pod} link set eth0 up && ip -n ${NS.pod} route add default via 10.42.0.1`,
    );

    const rules = nftRules({ adminCidrs: [`${ATTACKER}/32`], peerIps: [] });
    const file = join(mkdtempSync(join(tmpdir(), "enclii-fw-")), "firewall.nft");
    writeFileSync(file, rules);
    sh(`ip netns exec ${NS.host} nft -f ${file}`);

    const listen = `const net=require("net");for(const p of [${LISTENED.join(",")}])net.createServer(s=>{console.log("from "+s.remoteAddress+" to "+p);s.end()}).listen(p,()=>console.log("listening "+p));`;
    server = spawn("ip", ["netns", "exec", NS.host, process.execPath, "-e", listen], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => {
      let listening = 0;
      server!.stdout!.setEncoding("utf8").on("data", (d: string) => {
        for (const line of d.split("\n").filter(Boolean)) {
          if (line.startsWith("listening") && ++listening === LISTENED.length) resolve();
          if (line.startsWith("from")) accepted.push(line);
        }
      });
    });
  });

  afterAll(() => {
    server?.kill("SIGKILL");
    for (const ns of Object.values(NS)) spawnSync("ip", ["netns", "del", ns]);
  });

  it("lets a pod on cni0 reach the kubelet and the API server on the host", () => {
    expect(connect(NS.pod, "10.42.0.1", KUBELET)).toBe("connected");
    expect(connect(NS.pod, "10.42.0.1", API)).toBe("connected");
  });

  it("drops a pod's packets to sshd and to etcd's client port", () => {
    expect(connect(NS.pod, "10.42.0.1", SSH)).toBe("no answer");
    expect(connect(NS.pod, "10.42.0.1", ETCD_CLIENT)).toBe("no answer");
    expect(accepted.filter((a) => a.endsWith(` to ${SSH}`) || a.endsWith(` to ${ETCD_CLIENT}`))).toEqual([]);
  });

  it("lets the admin address reach 6443 on the public interface, and nothing else", () => {
    expect(connect(NS.attacker, HOST_PUBLIC, API)).toBe("connected");
    expect(connect(NS.attacker, HOST_PUBLIC, KUBELET)).toBe("no answer");
  });

  it("drops a forged pod-range source on the public interface, before it is routed", () => {
    const before = dropCounter();
    expect(connect(NS.attacker, HOST_PUBLIC, KUBELET, FORGED_POD)).toBe("no answer");
    expect(dropCounter()).toBeGreaterThan(before);
    expect(accepted.filter((a) => a.startsWith(`from ${FORGED_POD}`))).toEqual([]);
  });
});

describe.runIf(ready)("the bootstrap's firewall section, run by bash", () => {
  const options: BootstrapOptions = {
    nodeName: "ax41-1",
    role: "server",
    k3sVersion: "v1.33.4+k3s1",
    nodeIp: HOST_PUBLIC,
    clusterInit: true,
    tlsSans: [],
    privateNetwork: false,
    encryptPodTraffic: false,
    hostFirewall: { adminCidrs: ["198.51.100.7/32"], peerIps: [] },
  };
  const script = renderBootstrapScript(options);
  const section = script.slice(script.indexOf("mkdir -p /etc/enclii"), script.indexOf("cat > /etc/systemd/system/enclii-firewall.service"));
  const dir = mkdtempSync(join(tmpdir(), "enclii-fw-guard-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const live = FIREWALL_FILE.replace("/etc/enclii", dir);
  const run = (sshClient: string) =>
    spawnSync("bash", ["-c", `set -euo pipefail\nlog() { echo "$*"; }\n${section.replaceAll("/etc/enclii", dir)}`], {
      env: { SSH_CLIENT: sshClient, PATH: process.env.PATH },
      encoding: "utf8",
    });

  it("leaves the previous ruleset in place when the guard refuses", () => {
    writeFileSync(live, "# the previous ruleset\n");
    const r = run("192.0.2.50 50000 22");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("would lock it out");
    expect(readFileSync(live, "utf8")).toBe("# the previous ruleset\n");
  });

  it("moves the checked ruleset into place when the guard passes", () => {
    const r = run("198.51.100.7 50000 22");
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(live, "utf8")).toContain("table inet enclii_host {");
  });
});

/**
 * The NAT gateway's script (what its boot unit runs), taken from the rendered bootstrap and run in
 * a gateway namespace between a private network and an upstream with no route back to it: a
 * private host reaches the upstream only if forwarding is on and its traffic is masqueraded.
 */
describe.runIf(ready)("the NAT gateway's script in a network namespace", () => {
  const NAT_NS = { gateway: "enclii-nat-gw", private: "enclii-nat-priv", upstream: "enclii-nat-up" };
  const GATEWAY_PUBLIC = "203.0.113.21";
  const UPSTREAM = "203.0.113.22";
  const UPSTREAM_PORT = 8080;
  const script = renderBootstrapScript({
    nodeName: "gateway",
    role: "server",
    k3sVersion: "v1.33.4+k3s1",
    nodeIp: "10.0.1.1",
    clusterInit: true,
    tlsSans: [],
    privateNetwork: true,
    encryptPodTraffic: false,
    natFor: "10.0.0.0/16",
  });
  const body = script
    .slice(script.indexOf(`cat > ${NAT_SCRIPT} <<'NAT'\n`), script.indexOf("\nNAT\n"))
    .split("\n")
    .slice(1)
    .join("\n");
  const file = join(mkdtempSync(join(tmpdir(), "enclii-nat-")), "enclii-nat");
  const seen: string[] = [];
  let server: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    writeFileSync(file, `${body}\n`);
    for (const ns of Object.values(NAT_NS)) spawnSync("ip", ["netns", "del", ns]);
    for (const ns of Object.values(NAT_NS)) sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    sh(`ip link add nat-pub netns ${NAT_NS.gateway} type veth peer name nat-up netns ${NAT_NS.upstream}`);
    sh(`ip -n ${NAT_NS.gateway} addr add ${GATEWAY_PUBLIC}/24 dev nat-pub && ip -n ${NAT_NS.gateway} link set nat-pub up`);
    sh(`ip -n ${NAT_NS.gateway} route add default via ${UPSTREAM} dev nat-pub`);
    sh(`ip -n ${NAT_NS.upstream} addr add ${UPSTREAM}/24 dev nat-up && ip -n ${NAT_NS.upstream} link set nat-up up`);
    sh(`ip link add nat-priv netns ${NAT_NS.gateway} type veth peer name nat-host netns ${NAT_NS.private}`);
    sh(`ip -n ${NAT_NS.gateway} addr add 10.0.1.1/24 dev nat-priv && ip -n ${NAT_NS.gateway} link set nat-priv up`);
    sh(`ip -n ${NAT_NS.private} addr add 10.0.1.5/24 dev nat-host && ip -n ${NAT_NS.private} link set nat-host up`);
    sh(`ip -n ${NAT_NS.private} route add default via 10.0.1.1`);
    const listen = `require("net").createServer(s=>{console.log("from "+s.remoteAddress);s.end()}).listen(${UPSTREAM_PORT},"${UPSTREAM}",()=>console.log("listening"));`;
    server = spawn("ip", ["netns", "exec", NAT_NS.upstream, process.execPath, "-e", listen], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => {
      server!.stdout!.setEncoding("utf8").on("data", (d: string) => {
        for (const line of d.split("\n").filter(Boolean)) {
          if (line === "listening") resolve();
          if (line.startsWith("from")) seen.push(line);
        }
      });
    });
  });

  afterAll(() => {
    server?.kill("SIGKILL");
    for (const ns of Object.values(NAT_NS)) spawnSync("ip", ["netns", "del", ns]);
  });

  it("is what reaches the upstream: nothing before it runs, the gateway's address after", async () => {
    sh(`ip netns exec ${NAT_NS.gateway} sysctl -q -w net.ipv4.ip_forward=0`);
    expect(connect(NAT_NS.private, UPSTREAM, UPSTREAM_PORT)).toBe("no answer");
    sh(`ip netns exec ${NAT_NS.gateway} sh ${file}`);
    expect(connect(NAT_NS.private, UPSTREAM, UPSTREAM_PORT)).toBe("connected");
    // The listener's line arrives on its own stdout, after the connection.
    for (const start = Date.now(); seen.length === 0 && Date.now() - start < GIVE_UP_MS;) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([`from ${GATEWAY_PUBLIC}`]);
  });

  it("leaves one masquerade rule, on the default route's interface, however often it runs", () => {
    sh(`ip netns exec ${NAT_NS.gateway} sh ${file}`);
    sh(`ip netns exec ${NAT_NS.gateway} sh ${file}`);
    const table = sh(`ip netns exec ${NAT_NS.gateway} nft list table ip enclii_nat`);
    expect(table.match(/masquerade/g)).toHaveLength(1);
    expect(table).toContain('ip saddr 10.0.0.0/16 oifname "nat-pub" masquerade');
  });
});
