/**
 * Domain names as DNS and IDNA take them: one rule for every name the config accepts (the
 * platform's zone, tenants' and services' hostnames, the mail and database servers, email
 * domains). A name is written in ASCII, lowercase, its labels at most 63 octets and the whole at
 * most 253 (RFC 1035 §2.3.4, less the wire format's two length octets); an internationalised
 * label is written in its one ASCII form, `xn--` and Punycode (IDNA 2008, RFC 5891).
 *
 * tr46 (UTS 46, the processing behind whatwg-url and browsers) rather than the punycode package:
 * Punycode only converts, while whether a decoded label is valid (disallowed code points, case,
 * joiners, the Bidi rule) takes Unicode's IDNA tables, which tr46 carries (it converts with
 * punycode itself).
 */
import { toASCII, toUnicode } from "tr46";

/** Lowercase ASCII labels of at most 63 characters, 253 in all; the last letters only, or an internationalised one (`xn--p1ai`). */
export const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9]([-a-z0-9]{0,57}[a-z0-9])?)$/;

/** What DNS_NAME asks for, as a message. */
export const FQDN_RULE = "must be a lowercase fully qualified domain name";

/** IDNA 2008 as UTS 46 checks it, every check on and nontransitional (ß stays ß, as IDNA 2008 has it). */
const UTS46 = {
  checkHyphens: true,
  checkBidi: true,
  checkJoiners: true,
  useSTD3ASCIIRules: true,
  verifyDNSLength: true,
  transitionalProcessing: false,
} as const;

const A_LABEL_PREFIX = "xn--";
/** A right-to-left label (Hebrew alef, א): next to one, a label must keep the Bidi rule. */
const RIGHT_TO_LEFT_LABEL = "xn--4db";

const internationalised = (label: string, why: string) => `must be a valid internationalised name: label "${label}" ${why}`;
const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
/** Decoded text as it can be read: controls, marks and spaces (U+0080, a lone U+0301) escaped. */
const shown = (text: string) => `"${text.replace(/[\p{C}\p{M}\p{Z}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)}"`;

/** What is wrong with `name` as a domain name under DNS_NAME, or undefined. */
export function dnsNameProblem(name: string): string | undefined {
  return DNS_NAME.test(name) ? idnaProblem(name) : asciiProblem(name, FQDN_RULE, DNS_NAME);
}

/**
 * A name `pattern` refuses: `rule`, and when the name is one IDNA can write in ASCII (uppercase,
 * or Unicode written as it is read: `bücher.example`), that form, computed, to copy.
 */
export function asciiProblem(name: string, rule: string, pattern: RegExp): string {
  const ascii = toASCII(name, UTS46);
  const usable = ascii !== null && ascii !== name && pattern.test(ascii) && idnaProblem(ascii) === undefined;
  return usable ? `${rule}: write it as ${ascii}` : rule;
}

/**
 * What IDNA refuses in a lowercase ASCII name: a label with `--` in its third and fourth
 * characters other than an `xn--` one, an `xn--` label that is not a valid label's one ASCII
 * form, or a label that breaks the Bidi rule beside a right-to-left one.
 */
export function idnaProblem(name: string): string | undefined {
  const labels = name.split(".");
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) return problem;
  }
  if (toASCII(name, UTS46) === name) return undefined;
  // Each label is valid alone, so the name breaks the one rule across labels: in a name with a
  // right-to-left label, every label keeps the Bidi rule (RFC 5893 §2), so `1a` may not stand there.
  const label = labels.find((l) => toASCII(`${l}.${RIGHT_TO_LEFT_LABEL}`, UTS46) === null);
  return `must be a valid internationalised name: label "${label}" breaks the Bidi rule that every label of a name with a right-to-left label keeps (RFC 5893)`;
}

function labelProblem(label: string): string | undefined {
  if (!label.startsWith(A_LABEL_PREFIX)) {
    return label.slice(2, 4) === "--"
      ? `must not use a reserved label: "${label}" has "--" in its third and fourth characters, which only IDNA's xn-- labels may (RFC 5891 §4.2.3.1)`
      : undefined;
  }
  const unicode = toUnicode(label, UTS46).domain;
  // UTS 46 leaves a label it cannot decode as it was; one it decodes is always shorter. (One that
  // decodes to ASCII alone ends in "-", which DNS_NAME refuses.)
  if (unicode === label) return internationalised(label, "is not valid Punycode");
  const ascii = toASCII(unicode, UTS46);
  if (ascii === null) {
    // The code point to blame: the first that IDNA refuses on its own (a joiner, a symbol, a leading mark or hyphen).
    const refused = Array.from(unicode).find((c) => toASCII(c, UTS46) === null);
    return internationalised(
      label,
      `decodes to ${shown(unicode)}, ${refused ? `and IDNA does not allow ${codePoint(refused)} there` : "which IDNA does not allow"}`,
    );
  }
  return ascii === label ? undefined : internationalised(label, `decodes to ${shown(unicode)}, which IDNA writes as ${ascii}`);
}
