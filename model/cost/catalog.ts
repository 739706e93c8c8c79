/**
 * What Hetzner sells and what it costs: the facts config validation and the cost model share.
 * Prices change (Hetzner repriced three times in 2026), so every price is overridable with
 * `enclii:prices` and this table carries its date and source.
 */

export type NetworkZone = "eu-central" | "us-east" | "us-west" | "ap-southeast";

export const LOCATIONS: Record<string, NetworkZone> = {
  fsn1: "eu-central",
  nbg1: "eu-central",
  hel1: "eu-central",
  ash: "us-east",
  hil: "us-west",
  sin: "ap-southeast",
};

/**
 * Where a cloud pool's servers are created when its config names no location. Not fsn1: Hetzner
 * has repeatedly closed fsn1 to new servers (`resource_unavailable`, "server location disabled"),
 * and kube-hetzner and hcloud-k8s moved their defaults to nbg1 for that reason (issue 29).
 */
export const DEFAULT_LOCATION = "nbg1";

/**
 * The longest `locations` list a pool may give: the most locations one network zone has
 * (eu-central's fsn1, nbg1, hel1). A longer list repeats a location or leaves the zone.
 */
export const MAX_POOL_LOCATIONS = Math.max(
  ...Object.values(
    Object.values(LOCATIONS).reduce<Record<string, number>>((count, zone) => ({ ...count, [zone]: (count[zone] ?? 0) + 1 }), {}),
  ),
);

export interface ServerType {
  vcpu: number;
  memoryGi: number;
  diskGi: number;
  /** Old generations Hetzner no longer sells for new servers in EU locations. */
  soldInEu: boolean;
  /** The type that replaced it, named in the error when an old one is configured. */
  successor?: string;
}

const sold = (vcpu: number, memoryGi: number, diskGi: number): ServerType => ({ vcpu, memoryGi, diskGi, soldInEu: true });
const retired = (t: ServerType, successor: string): ServerType => ({ ...t, soldInEu: false, successor });

export const SERVER_TYPES: Record<string, ServerType> = {
  cx23: sold(2, 4, 40),
  cx33: sold(4, 8, 80),
  cx43: sold(8, 16, 160),
  cx53: sold(16, 32, 320),
  cpx12: sold(1, 2, 40),
  cpx22: sold(2, 4, 80),
  cpx32: sold(4, 8, 160),
  cpx42: sold(8, 16, 320),
  cpx52: sold(12, 24, 480),
  cpx62: sold(16, 32, 640),
  cax11: sold(2, 4, 40),
  cax21: sold(4, 8, 80),
  cax31: sold(8, 16, 160),
  cax41: sold(16, 32, 320),
  ccx13: sold(2, 8, 80),
  ccx23: sold(4, 16, 160),
  ccx33: sold(8, 32, 240),
  ccx43: sold(16, 64, 360),
  ccx53: sold(32, 128, 600),
  ccx63: sold(48, 192, 960),
  cpx11: retired(sold(2, 2, 40), "cpx12"),
  cpx21: retired(sold(3, 4, 80), "cpx22"),
  cpx31: retired(sold(4, 8, 160), "cpx32"),
  cpx41: retired(sold(8, 16, 240), "cpx42"),
  cpx51: retired(sold(16, 32, 360), "cpx52"),
  cx22: retired(sold(2, 4, 40), "cx23"),
  cx32: retired(sold(4, 8, 80), "cx33"),
  cx42: retired(sold(8, 16, 160), "cx43"),
  cx52: retired(sold(16, 32, 320), "cx53"),
};

/** Dedicated (robot) servers we know how to size; the host itself is bought outside Pulumi. */
export const DEDICATED_MODELS: Record<string, { vcpu: number; memoryGi: number; diskGi: number }> = {
  "AX41-NVMe": { vcpu: 12, memoryGi: 64, diskGi: 1024 },
};

/** A node's size, whichever way it was obtained; undefined for a type or model the catalog does not know. */
export function machineSize(
  node: { kind: "cloud"; serverType: string } | { kind: "dedicated"; model: string },
): Pick<ServerType, "vcpu" | "memoryGi" | "diskGi"> | undefined {
  return node.kind === "cloud" ? SERVER_TYPES[node.serverType] : DEDICATED_MODELS[node.model];
}

export interface Prices {
  /** Monthly price per server type or dedicated model, EUR (Hetzner bills in EUR). */
  monthlyEur: Record<string, number>;
  /** Monthly price of a primary IPv4 address on a cloud server. */
  primaryIpv4Eur: number;
  eurToUsd: number;
}

/**
 * Sources (docs/capacity-and-cost.md#prices-and-their-sources): Hetzner's EU price list after the June 2026 change,
 * one list for fsn1, nbg1 and hel1 (so a pool falling back between them costs the same),
 * seed roadmap January 2026 for the AX41-NVMe (≈ $50/mo, i.e. €46) and the EUR/USD rate it used
 * (€41.37 ≈ $45). A type without a figure here is reported as unpriced until priced in config.
 */
export const PRICES_AS_OF = "2026-06-15";
export const DEFAULT_PRICES: Prices = {
  monthlyEur: {
    cx33: 8.99,
    cpx22: 19.99,
    cpx32: 35.99,
    "AX41-NVMe": 46,
  },
  primaryIpv4Eur: 0.5,
  eurToUsd: 1.088,
};

/**
 * Cloudflare bills R2 and custom hostnames by use, in USD. Source (docs/capacity-and-cost.md#prices-and-their-sources): Cloudflare's R2
 * pricing page and Cloudflare for SaaS plans, January 2026. R2 Standard storage $0.015 per
 * GB-month, Class A operations $4.50 per million, Class B $0.36 per million, free each month
 * 10 GB, 1 M Class A, 10 M Class B; egress free. Custom hostnames: the first 100 free, then $0.10
 * per hostname per month. Cloudflare Tunnel: free.
 */
export const CLOUDFLARE_PRICES_AS_OF = "2026-01-15";
export const R2_PRICES = {
  storageGbMonthUsd: 0.015,
  classAPerMillionUsd: 4.5,
  classBPerMillionUsd: 0.36,
  free: { storageGb: 10, classAMillions: 1, classBMillions: 10 },
} as const;
export const CUSTOM_HOSTNAME_PRICES = { perHostnameUsd: 0.1, free: 100 } as const;
