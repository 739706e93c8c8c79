/**
 * Who may reach SSH and the Kubernetes API, judged by the address space the CIDRs cover, not by
 * how they are spelt: 0.0.0.0/1 plus 128.0.0.0/1 is the whole internet as surely as 0.0.0.0/0.
 */
import { cidrsOverlap, parseCidr } from "../net";
import { LIMITS, NAMESPACE, type Parsed } from "../config/schema";

const KEY = `${NAMESPACE}:adminCidrs`;
const ALL_IPV4 = 2 ** 32;

/** Ranges no administrator's public address is in: admitting one is legal, but probably not meant. */
const SPECIAL_RANGES: [string, string][] = [
  ["10.0.0.0/8", "a private range (RFC 1918)"],
  ["172.16.0.0/12", "a private range (RFC 1918)"],
  ["192.168.0.0/16", "a private range (RFC 1918)"],
  ["100.64.0.0/10", "the carrier-grade NAT range (RFC 6598)"],
  ["127.0.0.0/8", "the loopback range"],
  ["169.254.0.0/16", "the link-local range"],
  ["192.0.2.0/24", "a documentation range (RFC 5737)"],
  ["198.51.100.0/24", "a documentation range (RFC 5737)"],
  ["203.0.113.0/24", "a documentation range (RFC 5737)"],
  ["198.18.0.0/15", "the benchmarking range (RFC 2544)"],
];

/** How many distinct addresses the CIDRs admit together (overlaps counted once). */
export function coveredAddresses(cidrs: readonly string[]): number {
  const ranges = cidrs
    .map(parseCidr)
    .filter((c) => c !== undefined)
    .map((c) => [c.base, c.base + 2 ** (32 - c.prefix)] as const)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -1;
  for (const [from, to] of ranges) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

export function checkAdminCidrs(parsed: Parsed): string[] {
  if (!parsed.adminCidrs) return [];
  const covered = coveredAddresses(parsed.adminCidrs);
  if (covered === ALL_IPV4)
    return [`${KEY}: together they admit every IPv4 address: SSH and the Kubernetes API would be open to the whole internet`];
  if (covered > LIMITS.adminAddresses) {
    return [
      `${KEY}: together they admit ${covered} addresses; at most ${LIMITS.adminAddresses} (one /16) may reach SSH and the Kubernetes API`,
    ];
  }
  return [];
}

/** Admin CIDRs in ranges SSH and the API never see as a source from the internet, named with their range. */
export function adminCidrWarnings(cidrs: readonly string[]): string[] {
  return cidrs.flatMap((cidr, i) =>
    SPECIAL_RANGES.filter(([range]) => cidrsOverlap(cidr, range)).map(
      ([, what]) =>
        `${KEY}[${i}]: ${cidr} is in ${what}: only a VPN or a NAT inside it can reach SSH and the API from there; use the public address pulumi up runs from`,
    ),
  );
}
