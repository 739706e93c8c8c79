/**
 * A real Kubernetes API server for the tests and `npm run cluster-check`: etcd and kube-apiserver
 * built by `npm run toolchain`, on loopback, with a throw-away data dir, a service-account signing
 * key, RBAC authorization and the PodSecurity and ValidatingAdmissionPolicy admission plugins.
 * There are no controllers, kubelets or scheduler: objects are stored and judged, never run. The
 * caller owns `servers` and stops everything (and removes the dir) with `servers.stopAll()`.
 */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { freePort } from "./prometheus";
import { type Servers, waitFor } from "./servers";
import { toolPath } from "./toolchain";

/** k3s's service CIDR (its --service-cidr default), so ClusterIPs in manifests fall inside it. */
const SERVICE_CIDR = "10.43.0.0/16";
/** The admission plugins the tests depend on, named so a default that changes cannot drop one. */
const ADMISSION = ["NamespaceLifecycle", "ServiceAccount", "PodSecurity", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook"];

export interface ApiResponse {
  status: number;
  /** Parsed JSON (plain text when it is not JSON); callers read the fields of the kind they asked for. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's many response shapes
  body: any;
  warnings: string[];
}

/**
 * A safety net, not a budget: kube-apiserver once took over 180 s to become ready on a 2-core
 * machine also running the rest of the suite. Below vitest's 300 s hook timeout, so a slow start
 * fails with this wait's message; a server that dies fails the wait at once.
 */
const KUBE_START_MS = 240_000;

export interface Kube {
  /** https://127.0.0.1:<port> */
  server: string;
  /** A kubeconfig file for the admin user (system:masters), for kubectl and the Pulumi provider. */
  kubeconfig: string;
  /** The same kubeconfig's text. */
  kubeconfigText: string;
  /**
   * Calls the API as the admin; `body` is sent as JSON unless `contentType` says otherwise.
   * `warnings`: the server's `Warning` headers (PodSecurity's "would violate", deprecations).
   */
  api(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
  /** Calls the API with another bearer token (a ServiceAccount's), as `api` does. */
  apiAs(token: string): Kube["api"];
  /** Runs the built kubectl with the admin kubeconfig. */
  kubectl(args: string[], input?: string): { status: number; stdout: string; stderr: string };
}

/** `Warning: 299 - "text"` headers (RFC 7234), each one separately: Node joins repeated headers with commas. */
function warnings(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== "warning") continue;
    const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(raw[i + 1]);
    out.push(m ? m[1].replace(/\\(.)/g, "$1") : raw[i + 1]);
  }
  return out;
}

/**
 * The server's argv, under `setpriv --pdeathsig SIGKILL` where util-linux has it: the kernel kills
 * the server when this Node process dies by any means, SIGKILL included, where no exit handler runs.
 */
function orphanProof(argv: string[]): string[] {
  return spawnSync("setpriv", ["--help"]).status === 0 ? ["setpriv", "--pdeathsig", "SIGKILL", "--", ...argv] : argv;
}

/** Starts etcd and kube-apiserver; undefined when `npm run toolchain` has not built them. */
export async function startKube(servers: Servers): Promise<Kube | undefined> {
  const etcd = toolPath("etcd");
  const apiserver = toolPath("kube-apiserver");
  const kubectlBin = toolPath("kubectl");
  if (!etcd || !apiserver || !kubectlBin) return undefined;
  const dir = servers.tempDir("kube");
  const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];

  const etcdProc = servers.spawn(
    orphanProof([
      etcd,
      "--name=test",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=test=http://127.0.0.1:${peer}`,
      // A throw-away store: nothing in it must survive a crash, and fsync dominates on a busy disk.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]),
    dir,
    join(dir, "etcd.log"),
  );

  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  const token = randomBytes(24).toString("hex");
  // The token file is the API server's own static-token authenticator; the file lives and dies with the dir.
  writeFileSync(join(dir, "tokens.csv"), `${token},enclii-test-admin,enclii-test-admin,"system:masters"\n`, { mode: 0o600 });

  const certDir = join(dir, "certs");
  const apiProc = servers.spawn(
    orphanProof([
      apiserver,
      `--etcd-servers=http://127.0.0.1:${client}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${secure}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      `--enable-admission-plugins=${ADMISSION.join(",")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      // Privileged pods reach admission, so PodSecurity (not this flag) is what refuses them.
      "--allow-privileged=true",
      "--enable-priority-and-fairness=false",
      // The `kubernetes` Service's endpoints would be 127.0.0.1, which validation refuses (loopback),
      // logged every 10 s; nothing here routes to it.
      "--endpoint-reconciler-type=none",
      "--v=0",
    ]),
    dir,
    join(dir, "apiserver.log"),
  );

  // A server that exits while starting (a bad flag, a port taken) fails the start at once, with its log.
  let died: Error | undefined;
  let ready = false;
  const logTail = (log: string) => {
    try {
      return readFileSync(log, "utf8").split("\n").slice(-25).join("\n");
    } catch {
      return "(no log)";
    }
  };
  const dying = Promise.race(
    [
      { proc: etcdProc, name: "etcd", log: join(dir, "etcd.log") },
      { proc: apiProc, name: "kube-apiserver", log: join(dir, "apiserver.log") },
    ].map(async ({ proc, name, log }) => {
      await proc.exited;
      // Stopped after a good start: nothing is waiting, and the log may be gone with the dir.
      if (ready) return new Error(`${name} stopped`);
      return new Error(
        `${name} exited (${proc.child.exitCode ?? proc.child.signalCode}) while starting; the end of its log:\n${logTail(log)}`,
      );
    }),
  );
  const starting = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
    Promise.race([
      // Once a server has died, the probe answers so the wait ends instead of polling to its timeout.
      waitFor(what, async () => (died ? (null as T) : probe()), timeoutMs),
      dying.then((err) => {
        died ??= err;
        throw err;
      }),
    ]);

  const server = `https://127.0.0.1:${secure}`;
  // The self-signed serving certificate the API server writes into --cert-dir, with the CA that
  // signed it: read once both are whole (the key file is written after them).
  const ca = await starting(
    "kube-apiserver's serving certificate",
    async () => {
      const pem = existsSync(join(certDir, "apiserver.key")) ? readFileSync(join(certDir, "apiserver.crt"), "utf8") : "";
      return pem.split("-----END CERTIFICATE-----").length > 2 ? pem : undefined;
    },
    KUBE_START_MS,
  );
  const apiAs =
    (bearer: string): Kube["api"] =>
    (method, path, body, contentType = "application/json") =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
        const headers = {
          authorization: `Bearer ${bearer}`,
          accept: "application/json",
          ...(payload ? { "content-type": contentType } : {}),
        };
        // The self-signed certificate names IP 127.0.0.1 (the advertise address), not "localhost": checked as is.
        const req = request(`${server}${path}`, { method, ca, headers }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // plain text (readyz) stays text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings: warnings(res.rawHeaders) });
          });
        });
        req.on("error", reject);
        req.end(payload);
      });
  const api = apiAs(token);
  // Ready means every post-start hook ran, including the one that writes the default RBAC roles.
  await starting(
    "kube-apiserver to be ready",
    async () => ((await api("GET", "/readyz")).status === 200 ? true : undefined),
    KUBE_START_MS,
  );
  ready = true;

  const kubeconfigText = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: test\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${Buffer.from(ca).toString("base64")}`,
    `users:\n- name: admin\n  user:\n    token: ${token}`,
    "contexts:\n- name: test\n  context:\n    cluster: test\n    user: admin",
    "current-context: test",
    "",
  ].join("\n");
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigText, { mode: 0o600 });
  const kubectl: Kube["kubectl"] = (args, input) => {
    const r = spawnSync(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  return { server, kubeconfig, kubeconfigText, api, apiAs, kubectl };
}
