/**
 * The forget script (components/k3s/rejoin.ts) run by bash against a real etcd (`npm run toolchain`)
 * with client-certificate TLS, as k3s's embedded etcd serves it, holding a member at the lost
 * server's peer URL. `k3s` is a stand-in: `kubectl get node` answers from a file, and `kubectl delete
 * node` removes the etcd member at the Node's address, as k3s's member controller does on a Node's
 * removal (pkg/etcd/member_controller.go `onRemove`: the `etcd.k3s.cattle.io/node-address` annotation
 * names the member, `RemovePeer` removes it).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderForgetScript } from "../components/k3s/rejoin";
import { freePort } from "../testbed/prometheus";
import { Servers, waitFor } from "../testbed/servers";
import { requireBuilt, requireTool } from "./harness";

const LOST = { node: "gateway", ip: "10.0.1.10" };
const PEER_URL = `https://${LOST.ip}:2380`;
const HOUR_S = 3600;

const etcdBin = requireBuilt("etcd");
const tools = ["curl", "openssl"].every((t) => requireTool(t));

describe.skipIf(!etcdBin || !tools)("forgetting the lost member, against a real etcd", () => {
  const servers = new Servers();
  let dir: string;
  let endpoint: string;

  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  /** A gateway call as the script makes it, with k3s's etcd client certificate. */
  const gateway = (path: string, body: unknown) =>
    JSON.parse(
      execFileSync(
        "curl",
        [
          "-sS",
          "--fail",
          "--cacert",
          "server-ca.crt",
          "--cert",
          "client.crt",
          "--key",
          "client.key",
          "-X",
          "POST",
          "-d",
          "@-",
          `${endpoint}${path}`,
        ],
        { cwd: dir, input: JSON.stringify(body), encoding: "utf8", stdio: "pipe" },
      ),
    );
  const peerUrls = (): string[] => gateway("/v3/cluster/member/list", {}).members.flatMap((m: { peerURLs?: string[] }) => m.peerURLs ?? []);

  beforeAll(async () => {
    dir = servers.tempDir("etcd-tls");
    // The names k3s gives them under <data-dir>/tls/etcd (pkg/daemons/control/deps/deps.go).
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=ca",
      "-keyout",
      "server-ca.key",
      "-out",
      "server-ca.crt",
    );
    const issue = (name: string, cn: string, ext: string) => {
      openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        `/CN=${cn}`,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
      );
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "server-ca.crt",
        "-CAkey",
        "server-ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      );
    };
    issue("server-client", "etcd-server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    issue("client", "etcd-client", "extendedKeyUsage=clientAuth\n");
    const [client, peer] = [await freePort(), await freePort()];
    endpoint = `https://127.0.0.1:${client}`;
    servers.spawn(
      [
        etcdBin!,
        "--name=survivor",
        `--data-dir=${join(dir, "data")}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=survivor=http://127.0.0.1:${peer}`,
        `--cert-file=${join(dir, "server-client.crt")}`,
        `--key-file=${join(dir, "server-client.key")}`,
        `--trusted-ca-file=${join(dir, "server-ca.crt")}`,
        "--client-cert-auth",
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      dir,
      join(dir, "etcd.log"),
    );
    await waitFor("etcd's gateway", async () => (peerUrls().length > 0 ? true : undefined));
    // The stand-in k3s: what it is asked, in order, and the Node's state in a file.
    writeFileSync(
      join(dir, "k3s"),
      `#!${process.execPath}
const { appendFileSync, existsSync, readFileSync, rmSync } = require("node:fs");
const { execFileSync } = require("node:child_process");
const dir = ${JSON.stringify(dir)};
const [, , sub, verb, kind, name] = process.argv;
appendFileSync(dir + "/calls", [sub, verb, kind, name].join(" ") + "\\n");
const state = dir + "/node." + name;
if (verb === "get") {
  // --ignore-not-found: nothing printed, exit 0, when there is no such Node.
  if (existsSync(state)) process.stdout.write(JSON.parse(readFileSync(state, "utf8")).ready);
} else if (verb === "delete") {
  const address = JSON.parse(readFileSync(state, "utf8")).address;
  rmSync(state);
  const curl = (path, body) => JSON.parse(execFileSync("curl", ["-sS", "--fail", "--cacert", "server-ca.crt", "--cert", "client.crt", "--key", "client.key", "-X", "POST", ${JSON.stringify(endpoint)} + path, "-d", JSON.stringify(body)], { cwd: dir, encoding: "utf8" }));
  const member = curl("/v3/cluster/member/list", {}).members.find((m) => (m.peerURLs || []).includes("https://" + address + ":2380"));
  if (member) curl("/v3/cluster/member/remove", { ID: member.ID });
} else process.exit(2);
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => servers.stopAll());

  beforeEach(async () => {
    for (const f of ["calls", `node.${LOST.node}`]) rmSync(join(dir, f), { force: true });
    // Right after a removal etcd may still answer an add at the same peer URL with "member not found": tried until it takes.
    await waitFor("the lost member in etcd's list", async () => {
      if (!peerUrls().includes(PEER_URL)) gateway("/v3/cluster/member/add", { peerURLs: [PEER_URL], isLearner: true });
      return peerUrls().includes(PEER_URL) || undefined;
    });
  });

  /** The Node as the survivor's API server shows it: its Ready condition, down since `ageS` ago. */
  const node = (status: string, ageS: number) =>
    writeFileSync(
      join(dir, `node.${LOST.node}`),
      JSON.stringify({ ready: `${status} ${new Date(Date.now() - ageS * 1000).toISOString()}`, address: LOST.ip }),
    );
  const run = (opts: { etcd?: string; timeoutS?: number } = {}) => {
    const script = renderForgetScript({
      lostNode: LOST.node,
      lostIp: LOST.ip,
      etcd: { endpoint: opts.etcd ?? endpoint, tlsDir: dir },
      timeoutS: opts.timeoutS,
    });
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    const calls = existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : [];
    return { status: r.status, stderr: r.stderr, calls };
  };

  it("deletes a Node NotReady for an hour and waits until etcd holds no member at its peer URL", () => {
    node("Unknown", HOUR_S);
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual([`kubectl get node ${LOST.node}`, `kubectl delete node ${LOST.node}`]);
    expect(r.stderr).toContain(`[enclii forget gateway] etcd holds no member at ${PEER_URL}: gateway may join again`);
    expect(peerUrls()).not.toContain(PEER_URL);
  });

  it("never deletes a Ready Node: a run after the rebuild leaves the new member alone", () => {
    node("True", HOUR_S);
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual([`kubectl get node ${LOST.node}`]);
    expect(r.stderr).toBe("[enclii forget gateway] gateway is Ready: a server that answers is not forgotten\n");
    expect(peerUrls()).toContain(PEER_URL);
  });

  it("refuses a Node NotReady for less than five minutes (a reboot), deleting nothing", () => {
    node("False", 30);
    const r = run();
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([`kubectl get node ${LOST.node}`]);
    expect(r.stderr).toMatch(
      /^\[enclii forget gateway\] gateway has been NotReady for only \d+s \(a reboot\?\): not deleted before 300s; run again once it is back or down that long\n$/,
    );
    expect(peerUrls()).toContain(PEER_URL);
  });

  it("goes on when the Node and the member are both gone already", () => {
    gateway("/v3/cluster/member/remove", {
      ID: gateway("/v3/cluster/member/list", {}).members.find((m: { peerURLs?: string[] }) => m.peerURLs?.includes(PEER_URL)).ID,
    });
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual([`kubectl get node ${LOST.node}`]);
  });

  it("fails after its bound when etcd still lists the member and no Node is left to delete", () => {
    const r = run({ timeoutS: 1 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `[enclii forget gateway] etcd still lists a member at ${PEER_URL} after 1s; remove the member by hand (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost), then run again`,
    );
  });

  it("fails, saying why, when etcd does not answer", async () => {
    const r = run({ etcd: `https://127.0.0.1:${await freePort()}`, timeoutS: 1 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[enclii forget gateway] cannot read etcd's member list: curl: (7)");
  });
});
