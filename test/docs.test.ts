/**
 * The docs stay true: the generated config reference matches the schemas, every citation and
 * relative link resolves, the README stays short and reaches every page.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED_PAGES } from "../automation/docs";
import { SECRET_KEY_DOCS } from "../model/config/schema";
import { PAGING_KEY } from "../model/observability/config";
import { secretKeysFor } from "../model/rules/environment";
import { anchors, brokenCitations, reachable } from "./citations";

const ROOT = join(__dirname, "..");
/** Vendored upstream files cite their own docs; the lock file is npm's. */
const NOT_OURS = /^(schemas\/|package-lock\.json$)/;
const tracked = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
  .split("\n")
  .filter((f) => f && !NOT_OURS.test(f) && /\.(ts|mts|cjs|mjs|js|json|ya?ml|md|sh|txt)$|^\.ci\/run$/.test(f));
const files = new Map(tracked.map((f) => [f, readFileSync(join(ROOT, f), "utf8")]));
const README_MAX_LINES = 200;

describe("generated pages", () => {
  it.each(Object.keys(GENERATED_PAGES))("%s is what `npm run docs` writes from the schemas", (page) => {
    expect(files.get(page), `${page} is out of date: run npm run docs`).toBe(GENERATED_PAGES[page]());
  });

  it("lists every secret a stack can be asked for, and nothing else", () => {
    const asked = new Set<string>();
    for (const nodes of [[{ kind: "cloud" }], [{ kind: "dedicated" }]])
      for (const mode of ["in-cluster", "external"])
        for (const smtp of [true, false]) secretKeysFor(nodes, mode, smtp).forEach((k) => asked.add(k));
    expect(Object.keys(SECRET_KEY_DOCS).sort()).toEqual([...asked].sort());
    expect(GENERATED_PAGES["docs/config.md"]()).toContain(`### \`${PAGING_KEY}\``);
  });
});

describe("citations and links", () => {
  it("every docs/<page>.md#<anchor> in the repository, and every relative link in README and docs/, resolves", () => {
    // This file's own fixtures below are broken on purpose.
    const cited = new Map([...files].filter(([f]) => f !== "test/docs.test.ts"));
    expect(brokenCitations(cited).map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([]);
  });

  it("no file cites the README by section name, or the design notes a fresh clone does not have", () => {
    const stale = [...files]
      .filter(([f]) => f !== "test/docs.test.ts" && f !== "test/citations.ts")
      .flatMap(([f, text]) =>
        text
          .split("\n")
          .map((l, i) => ({ l, at: `${f}:${i + 1}` }))
          .filter(({ l }) => /README:? "|\bDESIGN\b/.test(l)),
      )
      .map(({ at, l }) => `${at}: ${l.trim()}`);
    expect(stale).toEqual([]);
  });

  it("finds what is broken: a missing page, a missing heading, a bad relative link", () => {
    const broken = new Map([
      ["docs/a.md", "# A\n\n## Two words\n\nSee [b](b.md) and [c](c.md#nowhere) and [x](../x.md).\n"],
      ["docs/c.md", "# C\n"],
      ["src.ts", "// docs/a.md#two-words is fine; docs/a.md#one-word is not; docs/zz.md is gone\n"],
    ]);
    expect(brokenCitations(broken).map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([
      "docs/a.md:5: b.md: no file docs/b.md",
      "docs/a.md:5: c.md#nowhere: docs/c.md has no heading #nowhere",
      "docs/a.md:5: ../x.md: no file x.md",
      "src.ts:1: docs/a.md#one-word: docs/a.md has no heading #one-word",
      "src.ts:1: docs/zz.md: no file docs/zz.md",
    ]);
  });

  it("anchors headings as GitHub does: code spans, punctuation and duplicates", () => {
    expect([...anchors("# `enclii:postgres`\n## The control plane's contract\n## Same\n## Same\n```\n# not a heading\n```\n")]).toEqual([
      "encliipostgres",
      "the-control-planes-contract",
      "same",
      "same-1",
    ]);
  });
});

describe("README", () => {
  const readme = files.get("README.md")!;

  it(`stays within ${README_MAX_LINES} lines`, () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("reaches every page of docs/ through its links", () => {
    const pages = [...files.keys()].filter((f) => f.startsWith("docs/") && f.endsWith(".md"));
    const seen = reachable(files, "README.md");
    expect(pages.filter((p) => !seen.has(p))).toEqual([]);
  });

  it("states the two set-up commands", () => {
    expect(readme).toContain("npm ci && npm run plan -- production");
    expect(readme).toMatch(/^npm test\b/m);
  });
});
