/** IPv4 arithmetic for config validation and address assignment; no library covers CIDR containment with this little code. */

export function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function toInt(ip: string): number {
  return ip.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** `undefined` unless `s` is an IPv4 CIDR whose address is the network address. */
export function parseCidr(s: string): { base: number; prefix: number } | undefined {
  const [ip, bits, ...rest] = s.split("/");
  if (rest.length > 0 || !isIpv4(ip ?? "") || !/^\d{1,2}$/.test(bits ?? "") || Number(bits) > 32) return undefined;
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  const base = toInt(ip);
  return base % size === 0 ? { base, prefix } : undefined;
}

export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  if (!o || !i || i.prefix < o.prefix) return false;
  return Math.floor(i.base / 2 ** (32 - o.prefix)) === Math.floor(o.base / 2 ** (32 - o.prefix));
}

/** The `n`th address of a CIDR (`hostAddress("10.0.1.0/24", 10)` = 10.0.1.10). */
export function hostAddress(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not a CIDR: ${cidr}`);
  return toIp(c.base + n);
}

export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}
