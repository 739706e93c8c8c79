/**
 * Deterministic fake provider outputs for the offline plan and the tests: TEST-NET addresses,
 * numeric Hetzner ids, stable ids everywhere, all derived from resource names (never from
 * registration order, which can vary).
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

const hash = (s: string) => createHash("sha256").update(s).digest();

/** 203.0.113.0/24 is TEST-NET-3 (RFC 5737): never a real host. */
export function fakeIpv4(name: string): string {
  return `203.0.113.${(hash(name).readUInt8(0) % 250) + 2}`;
}

export function fakeKubeconfig(): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: ZmFrZS1jYQ==",
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context: {cluster: default, user: default}",
    "  name: default",
    "current-context: default",
    "users:",
    "- name: default",
    "  user: {client-certificate-data: ZmFrZS1jZXJ0, client-key-data: ZmFrZS1rZXk=}",
    "",
  ].join("\n");
}

function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "hcloud:index/server:Server":
      return { ipv4Address: fakeIpv4(name), ipv6Address: "2001:db8::1", status: "running" };
    case "random:index/randomPassword:RandomPassword":
      return { result: hash(`password:${name}`).toString("base64url").slice(0, Number(inputs.length ?? 32)) };
    case "command:remote:Command":
      return { stdout: String(inputs.create ?? "").includes("/etc/rancher/k3s/k3s.yaml") ? fakeKubeconfig() : "", stderr: "" };
    case "kubernetes:helm.sh/v3:Release":
      return { status: { namespace: inputs.namespace, status: "deployed", version: inputs.version } };
    default:
      return {};
  }
}

export function planMocks(): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      // Hetzner ids are integers, and the program converts them with Number().
      const id = args.type.startsWith("hcloud:") ? String(hash(args.name).readUInt32BE(0) % 90_000_000 + 10_000_000) : `${args.name}-id`;
      return { id, state: { ...args.inputs, ...fakeOutputs(args.type, args.name, args.inputs) } };
    },
    call(args) {
      return args.inputs;
    },
  };
}
