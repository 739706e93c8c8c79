/**
 * The platform stack's outputs, as read back: stacks/program.ts exports them, the tenant shards
 * read them through a stack reference (stacks/tenants.ts) and the control plane through the
 * Automation API (model/controlPlane.ts `READ_OUTPUTS`). One type for every side, so renaming or
 * retyping an output fails the type check where it is written and where it is read. Secret
 * outputs read back as their plain values.
 */
import type { Jwks } from "./config/signingKeys";

export interface PlatformNode {
  name: string;
  role: string;
  nodeIp: string;
  /** Nodes with a public address only. */
  publicIp?: string;
}

export interface ServiceSummary {
  name: string;
  image: string;
  replicas: number;
  /** With autoscaling. */
  maxReplicas?: number;
  hostnames: string[];
}

/** With `enclii:customHostnames`: what a tenant shard needs to route its tenants' hostnames. */
export interface CustomHostnamesOutput {
  fallbackOrigin: string;
  /** The blackbox exporter, when the platform runs observability. */
  prober?: string;
}

/** Where a token for the cluster is minted over SSH (components/k3s/credential.ts): an address and a pinned host key, no credential. */
export interface TokenMintTarget {
  host: string;
  port: number;
  user: string;
  /** The server's public host key: any other is refused. */
  hostKey: string;
}

/** The API server, for a stack that brings its own short-lived token (the tenant shards). */
export interface KubeApi {
  server: string;
  /** Base64 PEM. */
  certificateAuthorityData: string;
  tokenMint: TokenMintTarget;
}

export interface PlatformOutputs {
  nodes: PlatformNode[];
  apiEndpoint: string;
  kubeApi: KubeApi;
  storageClass: string;
  tunnelId: string;
  buckets: { assets: string; backups: string };
  /** The environment's zone. */
  domain: string;
  zoneId: string;
  customHostnames?: CustomHostnamesOutput;
  /** With `enclii:customHostnames`: the tenant shards' Cloudflare token (secret). */
  tenantApiToken?: string;
  databaseSecrets: string[];
  services: ServiceSummary[];
  /** Janua's, when it runs. */
  oidcIssuer?: string;
  jwksUri?: string;
  jwks?: Jwks;
  k3sVersion: string;
  /** With observability on: Grafana's URL, or why it has none. */
  grafanaUrl?: string;
  /** With observability on (secret). */
  grafanaAdminPassword?: string;
  monthlyCostUsd: number;
}

/**
 * The outputs a tenant shard reads through its stack reference (stacks/tenants.ts can read no
 * other): a shard's plan depends on the platform through these alone, so a platform change that
 * leaves them as they were plans no shard again (automation/shardInputs.ts).
 */
export const SHARD_READS = [
  "domain",
  "customHostnames",
  "kubeApi",
  "tenantApiToken",
  "zoneId",
] as const satisfies readonly (keyof PlatformOutputs)[];
export type ShardRead = (typeof SHARD_READS)[number];
