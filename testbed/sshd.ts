/**
 * A real OpenSSH server on 127.0.0.1 for the token mint (components/k3s/credential.ts): its own
 * host key, one authorised client key, and a `k3s` on the session's PATH that runs the built
 * kubectl against the test's API server as its admin, as `k3s kubectl` runs as the node's admin.
 */
import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./prometheus";
import { waitFor, type Servers } from "./servers";

export const SSHD = "/usr/sbin/sshd";

export interface Sshd {
  port: number;
  /** `ssh-ed25519 AAAA…`, as a ConnectionArgs hostKey. */
  hostKey: string;
  /** The authorised client's private key (OpenSSH format). */
  clientKey: string;
  /** Another server's host key, for the refusal. */
  otherHostKey: string;
}

function keypair(path: string): { privateKey: string; publicKey: string } {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  // "ssh-ed25519 AAAA… " without the empty comment.
  const publicKey = readFileSync(`${path}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  return { privateKey: readFileSync(path, "utf8"), publicKey };
}

/** Starts sshd; `kubectl` and `kubeconfig` are what the session's `k3s kubectl` runs. */
export async function startSshd(servers: Servers, kubectl: string, kubeconfig: string): Promise<Sshd> {
  const dir = servers.tempDir("sshd");
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "k3s"), `#!/bin/sh\n[ "$1" = kubectl ] || exit 64\nshift\nexec ${kubectl} --kubeconfig ${kubeconfig} "$@"\n`, {
    mode: 0o755,
  });
  const host = keypair(join(dir, "host"));
  const other = keypair(join(dir, "other"));
  const client = keypair(join(dir, "client"));
  writeFileSync(join(dir, "authorized_keys"), `environment="PATH=${bin}:/usr/bin:/bin" ${client.publicKey}\n`, { mode: 0o600 });
  const port = await freePort();
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PermitUserEnvironment PATH",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  // sshd's privilege-separation directory.
  mkdirSync("/run/sshd", { recursive: true });
  servers.spawn([SSHD, "-D", "-e", "-f", join(dir, "sshd_config")], dir, join(dir, "sshd.log"));
  await waitFor(`sshd on ${port} (log: ${join(dir, "sshd.log")})`, async () => {
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, "127.0.0.1")
        .once("connect", () => done(true))
        .once("error", () => done(false));
      socket.once("close", () => socket.destroy());
      setTimeout(() => socket.end(), 100);
    });
    return open || undefined;
  });
  return { port, hostKey: host.publicKey, clientKey: client.privateKey, otherHostKey: other.publicKey };
}
