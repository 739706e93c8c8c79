/**
 * Citations that cannot rot: every `docs/<page>.md#<anchor>` a file of the repository names, and
 * every relative link in README.md and docs/, must reach a file and, with an anchor, a heading of
 * it, anchored the way GitHub renders it (github-slugger, the library GitHub's own pipeline uses).
 */
import GithubSlugger from "github-slugger";
import { posix } from "node:path";

export interface Problem {
  file: string;
  line: number;
  message: string;
}

/** The anchors GitHub gives a Markdown file's headings, duplicates numbered as GitHub numbers them. */
export function anchors(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const m = !fence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m) out.add(slugger.slug(m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")));
  }
  return out;
}

/** `docs/<page>.md` with an optional `#anchor`, as code and config cite the docs. */
const CITATION = /(?<![\w/.-])docs\/[\w/-]+\.md(?:#[\w-]+)?/g;
/** A Markdown link or image target: `[text](target)`. */
const LINK = /!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

function resolveTarget(files: ReadonlyMap<string, string>, from: string, target: string, line: number): Problem | undefined {
  const [path, anchor] = target.split("#", 2);
  const resolved = path === "" ? from : posix.normalize(posix.join(posix.dirname(from), path));
  const exists = files.has(resolved) || [...files.keys()].some((f) => f.startsWith(`${resolved.replace(/\/$/, "")}/`));
  if (!exists) return { file: from, line, message: `${target}: no file ${resolved}` };
  if (anchor === undefined || !resolved.endsWith(".md")) return undefined;
  if (!anchors(files.get(resolved) ?? "").has(anchor))
    return { file: from, line, message: `${target}: ${resolved} has no heading #${anchor}` };
  return undefined;
}

/**
 * Every broken citation and link among `files` (path → text, paths relative to the repository).
 * Markdown files are read for links (relative to themselves, code spans and fences skipped);
 * every file for `docs/…` citations (relative to the repository).
 */
export function brokenCitations(files: ReadonlyMap<string, string>): Problem[] {
  const problems: Problem[] = [];
  for (const [file, text] of files) {
    const markdown = file.endsWith(".md");
    let fence = false;
    text.split("\n").forEach((raw, i) => {
      if (markdown && /^\s*(```|~~~)/.test(raw)) fence = !fence;
      if (markdown && !fence) {
        const prose = raw.replace(/`[^`]*`/g, "");
        for (const m of prose.matchAll(LINK)) {
          if (/^(https?:|mailto:)/.test(m[1])) continue;
          const p = resolveTarget(files, file, m[1], i + 1);
          if (p) problems.push(p);
        }
      }
      for (const m of raw.matchAll(CITATION)) {
        const p = resolveTarget(files, "", m[0], i + 1);
        if (p) problems.push({ ...p, file });
      }
    });
  }
  return problems;
}

/** Pages reachable from `start` by relative Markdown links. */
export function reachable(files: ReadonlyMap<string, string>, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length) {
    const from = queue.shift()!;
    for (const m of (files.get(from) ?? "").replace(/`[^`]*`/g, "").matchAll(LINK)) {
      if (/^(https?:|mailto:|#)/.test(m[1])) continue;
      const to = posix.normalize(posix.join(posix.dirname(from), m[1].split("#")[0]));
      if (to.endsWith(".md") && files.has(to) && !seen.has(to)) {
        seen.add(to);
        queue.push(to);
      }
    }
  }
  return seen;
}
