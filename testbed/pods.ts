/**
 * Pods on one machine, for running what the StatefulSets and Deployments run: each pod has its
 * own network namespace on a private bridge (so every pod can listen on the production port),
 * its own hostname (a UTS namespace, which the init scripts read), the cluster's DNS names in
 * its /etc/hosts (`ip netns exec` mounts /etc/netns/<ns>/hosts there), and temp dirs for its
 * volumes. Needs root and iproute2; everything is removed by the `Servers` it was made with.
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adoptRunuserChild, type Proc, type Servers } from "./servers";

/** 198.18.0.0/15 (RFC 2544, benchmarking): 512 /24 networks that are never a real host. */
const NETWORKS = 512;
const FIRST_POD_HOST = 10;
const NETNS_DIR = "/etc/netns";

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

export interface StartOptions {
  /** Run as the postgres user (PostgreSQL and PgBouncer refuse root). */
  asPostgres?: boolean;
  stopSignal?: NodeJS.Signals;
  /** Files bind-mounted over paths inside the pod only, e.g. a CA bundle: [source, target]. */
  binds?: [string, string][];
}

export class Pod {
  constructor(
    private readonly servers: Servers,
    readonly name: string,
    readonly ip: string,
    readonly netns: string,
    readonly dir: string,
  ) {}

  /**
   * A volume's host dir, owned like the pod's dir (postgres, so PostgreSQL and PgBouncer can use
   * it; root ignores ownership); `fresh` empties it first, as a recreated pod's emptyDir would be.
   */
  volume(name: string, fresh = false): string {
    const dir = join(this.dir, name);
    if (fresh) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const { uid, gid } = statSync(this.dir);
    chownSync(dir, uid, gid);
    return dir;
  }

  private wrap(argv: string[], o: StartOptions): string[] {
    const prelude = [`hostname ${this.name}`, ...(o.binds ?? []).map(([src, dst]) => `mount --bind ${src} ${dst}`)].join(" && ");
    const user = o.asPostgres ? ["runuser", "-u", "postgres", "--"] : [];
    return [
      "ip",
      "netns",
      "exec",
      this.netns,
      "unshare",
      "--uts",
      "--",
      "sh",
      "-c",
      `${prelude} && exec "$@"`,
      this.name,
      ...user,
      ...argv,
    ];
  }

  /** Runs a command to completion inside the pod, as an init container does. */
  run(argv: string[]): { status: number; output: string } {
    const [cmd, ...args] = this.wrap(argv, {});
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
  }

  /** The kernel's TCP extension counters in the pod's network namespace (`/proc/net/netstat`, TcpExt). */
  tcpCounters(): Record<string, number> {
    const lines = this.run(["cat", "/proc/net/netstat"])
      .output.split("\n")
      .filter((l) => l.startsWith("TcpExt:"));
    const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
    return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
  }

  /** A long-running process inside the pod; its output goes to `<pod dir>/<log>`. */
  async start(argv: string[], log: string, o: StartOptions = {}): Promise<Proc> {
    const proc = this.servers.spawn(this.wrap(argv, o), this.dir, join(this.dir, log), o.stopSignal);
    if (o.asPostgres) await adoptRunuserChild(proc, `${argv[0]} in ${this.name}`);
    return proc;
  }
}

export class PodNetwork {
  private readonly pods: Pod[] = [];
  private readonly names = new Map<string, string>();

  private constructor(
    private readonly servers: Servers,
    private readonly bridge: string,
    private readonly prefix: string,
  ) {}

  /** Claims a free bridge (creating it is the lock, so parallel test files never share one). */
  static create(servers: Servers): PodNetwork {
    for (let i = 0; i < NETWORKS; i++) {
      const bridge = `enclii-br${i}`;
      if (spawnSync("ip", ["link", "add", bridge, "type", "bridge"]).status !== 0) continue;
      servers.onStop(() => spawnSync("ip", ["link", "del", bridge]));
      const prefix = `198.${18 + (i >> 8)}.${i & 255}`;
      ip("addr", "add", `${prefix}.1/24`, "dev", bridge);
      ip("link", "set", bridge, "up");
      return new PodNetwork(servers, bridge, prefix);
    }
    throw new Error(`no free bridge among enclii-br0…${NETWORKS - 1}`);
  }

  /** A pod reachable from the test process and every other pod at its address, and by `dnsNames`. */
  addPod(name: string, dnsNames: string[] = []): Pod {
    const index = this.pods.length;
    const netns = `${this.bridge}-${index}`;
    const address = `${this.prefix}.${FIRST_POD_HOST + index}`;
    const veth = `${this.bridge}v${index}`.slice(-15);
    ip("netns", "add", netns);
    this.servers.onStop(() => {
      spawnSync("ip", ["netns", "del", netns]);
      rmSync(join(NETNS_DIR, netns), { recursive: true, force: true });
    });
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns);
    // Deleting our end destroys the pair at once; left to the namespace, it lingers until the
    // namespace's last process has exited, and the next network on this bridge name collides with it.
    this.servers.onStop(() => spawnSync("ip", ["link", "del", veth]));
    ip("link", "set", veth, "master", this.bridge, "up");
    ip("-n", netns, "addr", "add", `${address}/24`, "dev", "eth0");
    ip("-n", netns, "link", "set", "eth0", "up");
    ip("-n", netns, "link", "set", "lo", "up");
    const pod = new Pod(this.servers, name, address, netns, this.servers.tempDir(`pod-${name}`, true));
    this.pods.push(pod);
    for (const n of [name, ...dnsNames]) this.names.set(n, address);
    this.writeHosts();
    return pod;
  }

  /** The address a DNS name resolves to inside the pods. */
  resolve(name: string): string {
    const address = this.names.get(name);
    if (!address) throw new Error(`no pod answers to ${name}`);
    return address;
  }

  private writeHosts(): void {
    const hosts = ["127.0.0.1 localhost", ...[...this.names].map(([n, a]) => `${a} ${n}`), ""].join("\n");
    for (const pod of this.pods) {
      mkdirSync(join(NETNS_DIR, pod.netns), { recursive: true });
      writeFileSync(join(NETNS_DIR, pod.netns, "hosts"), hosts);
    }
  }
}
