/**
 * The stack file as bytes and as YAML beyond its values: what Pulumi's Go YAML reads differently
 * from the `yaml` package, or refuses where the package accepts, is refused here with its line and
 * column, so a file this plan accepts is one `pulumi up` reads the same way. Each message says
 * what to write instead and never quotes the file (a secret could sit on the line).
 */
import { Parser, isAlias, isCollection, isMap, isPair, isScalar, visit, type Alias, type Document, type Node, type Pair } from "yaml";

/**
 * Aliases may add at most this many values to the file. `pulumi config set` writes no anchors, so
 * any alias is written by hand, to share a few settings between node pools: tens of values. Past
 * that, an alias is an expansion attack (a "billion laughs" doubles at each level) rather than a
 * config, and is refused before anything expands it. 100 is also the `yaml` package's own
 * `maxAliasCount` default.
 */
export const MAX_ALIAS_VALUES = 100;
/** Reporting every invalid byte of a binary file would print thousands of lines. */
const MAX_BYTE_PROBLEMS = 10;

/** `file:line:column` of a character offset in `text`, columns counted in characters. */
function position(file: string, text: string, offset: number): string {
  return locator(file, text)(offset);
}

/** position() for many offsets in one text: the line starts are found once (a file of 100,000 tags stays fast). */
export function locator(file: string, text: string): (offset: number) => string {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let [lo, hi] = [0, starts.length - 1];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return `${file}:${lo + 1}:${[...text.slice(starts[lo], offset)].length + 1}`;
  };
}

const BOM = (file: string) => `${file}:1:1: a byte-order mark: save the file without a byte-order mark`;

/** Byte offsets where UTF-8 breaks (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). */
function invalidUtf8(bytes: Uint8Array): number[] {
  const bad: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const [n, lo, hi] =
      b < 0x80
        ? [0, 0, 0]
        : b >= 0xc2 && b <= 0xdf
          ? [1, 0x80, 0xbf]
          : b === 0xe0
            ? [2, 0xa0, 0xbf]
            : b === 0xed
              ? [2, 0x80, 0x9f]
              : b >= 0xe1 && b <= 0xef
                ? [2, 0x80, 0xbf]
                : b === 0xf0
                  ? [3, 0x90, 0xbf]
                  : b >= 0xf1 && b <= 0xf3
                    ? [3, 0x80, 0xbf]
                    : b === 0xf4
                      ? [3, 0x80, 0x8f]
                      : [-1, 0, 0];
    let ok = n >= 0 && i + n < bytes.length;
    for (let k = 1; ok && k <= n; k++) ok = bytes[i + k] >= (k === 1 ? lo : 0x80) && bytes[i + k] <= (k === 1 ? hi : 0xbf);
    if (ok) i += n + 1;
    else {
      bad.push(i);
      i++;
    }
  }
  return bad;
}

/**
 * Characters Pulumi's Go YAML refuses ("control characters are not allowed", outside YAML's
 * printable set: go-yaml readerc.go yaml_parser_update_buffer), and the line breaks it alone sees
 * (YAML 1.1's NEL, LS and PS: go-yaml yamlprivateh.go is_break), which the `yaml` package reads as
 * part of a key or value; and a carriage return without a newline after it, a line break to
 * go-yaml and an error in the middle of a line to the `yaml` package.
 */
const NOT_PRINTABLE = /\r(?!\n)|[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;
const LINE_BREAKS = new Set([0x0d, 0x85, 0x2028, 0x2029]);

/**
 * The file's text, or the problems that keep it from being one: bytes that are not UTF-8 (the file
 * cannot be read further), a byte-order mark, a NUL or another control character (reported with
 * the rest of the file's problems). `text` is undefined when the file cannot be read.
 */
export function decodeStackFile(file: string, bytes: Uint8Array): { text?: string; problems: string[] } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
    const bad = invalidUtf8(bytes);
    const problems = bad
      .slice(0, MAX_BYTE_PROBLEMS)
      .map((i) => `${position(file, lenient.decode(bytes.subarray(0, i)), Infinity)}: a byte that is not UTF-8: save the file as UTF-8`);
    if (bad.length > MAX_BYTE_PROBLEMS) problems.push(`${file}: ${bad.length - MAX_BYTE_PROBLEMS} more bytes that are not UTF-8`);
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return { problems: bom ? [BOM(file), ...problems] : problems };
  }
  return { text, problems: characterProblems(file, text) };
}

/** A byte-order mark, NUL and other control characters in text already decoded. */
export function characterProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  if (text.startsWith("\ufeff")) problems.push(BOM(file));
  const found = [...text.slice(text.startsWith("\ufeff") ? 1 : 0).matchAll(NOT_PRINTABLE)];
  const offset = text.startsWith("\ufeff") ? 1 : 0;
  for (const m of found.slice(0, MAX_BYTE_PROBLEMS)) {
    const code = m[0].codePointAt(0)!;
    const name = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    const where = position(file, text, m.index! + offset);
    if (LINE_BREAKS.has(code))
      problems.push(`${where}: a line break (${name}) that Pulumi's Go YAML sees and this check does not: use a plain newline`);
    else
      problems.push(
        `${where}: ${code === 0 ? "a NUL byte" : `a control character (${name})`}: YAML does not allow it; remove it, or write it as an escape ("\\x${code.toString(16).padStart(2, "0")}") in a double-quoted value`,
      );
  }
  if (found.length > MAX_BYTE_PROBLEMS) problems.push(`${file}: ${found.length - MAX_BYTE_PROBLEMS} more control characters`);
  return problems;
}

/** Source tokens of the concrete syntax tree, in order: tags and document starts keep their offsets here. */
function* sourceTokens(token: unknown): Generator<{ type: string; offset: number }> {
  if (Array.isArray(token)) for (const t of token) yield* sourceTokens(t);
  else if (token !== null && typeof token === "object") {
    const t = token as { type?: string; offset?: number };
    if (typeof t.type === "string" && typeof t.offset === "number") yield t as { type: string; offset: number };
    for (const value of Object.values(token)) if (typeof value === "object") yield* sourceTokens(value);
  }
}

/** Explicit tags and a second document in `text`. */
export function structureProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const at = locator(file, text);
  let documents = 0;
  for (const token of new Parser().parse(text))
    for (const t of sourceTokens(token)) {
      if (t.type === "document" && ++documents === 2)
        problems.push(
          `${at(t.offset)}: a second YAML document: a stack file holds one; remove the "---" line and what follows it, or merge it into the first`,
        );
      if (t.type === "tag")
        problems.push(
          `${at(t.offset)}: an explicit YAML tag (!…): Pulumi's Go YAML reads tags differently; remove it, and quote the value if it must stay text ("…")`,
        );
    }
  return problems;
}

/**
 * Aliases to no anchor, and the first alias at which aliases have added more than
 * MAX_ALIAS_VALUES values to `doc`, parsed from `text`. Counts without expanding: each anchored
 * node's size is computed once, so a billion-laughs file costs its length, not its expansion.
 */
export function aliasProblems(file: string, text: string, doc: Document): string[] {
  const at = locator(file, text);
  // What each alias stands for, found in one pass in document order (Alias.resolve searches the
  // whole document each time: quadratic in a file of many aliases).
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  const sizes = new Map<Node, number>();
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = targets.get(node);
      if (!target) return 0; // reported on its own below
      if (sizes.get(target) === -1) return Infinity; // an alias inside its own anchor: endless
      if (!sizes.has(target)) {
        sizes.set(target, -1);
        sizes.set(target, size(target));
      }
      return sizes.get(target)!;
    }
    if (isPair(node)) return size(node.key) + size(node.value);
    if (isCollection(node)) return node.items.reduce((n: number, item) => n + size(item), 1);
    return 1;
  };
  const problems: string[] = [];
  let added = 0;
  for (const [alias, target] of targets) {
    if (!target)
      problems.push(
        `${at(alias.range?.[0] ?? 0)}: an alias (*${alias.source}) to no anchor: put "&${alias.source}" on a value above it, or write the value out`,
      );
    added += size(alias);
    if (added > MAX_ALIAS_VALUES) {
      problems.push(
        `${at(alias.range?.[0] ?? 0)}: aliases (*name) here expand the file by more than ${MAX_ALIAS_VALUES} values: write the values out instead`,
      );
      break;
    }
  }
  return problems;
}

/**
 * Keys set twice in one map, at the second (go-yaml refuses them too: "mapping key already
 * defined"). Found with a set per map: the `yaml` package's own `uniqueKeys` compares each key with
 * every key before it, which took 8 s on a file of 20,000 keys. A plain `<<` is a merge, checked
 * with the values (stackFileValues.ts).
 */
export function duplicateKeyProblems(file: string, text: string, doc: Document): string[] {
  const at = locator(file, text);
  const problems: string[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<unknown>();
      for (const pair of map.items as Pair[]) {
        if (!isScalar(pair.key) || typeof pair.key.value === "symbol") continue;
        if (seen.has(pair.key.value))
          problems.push(`${at(pair.key.range?.[0] ?? 0)}: Map keys must be unique: this key is set above in the same map; keep one`);
        seen.add(pair.key.value);
      }
    },
  });
  return problems;
}
