/**
 * The OCI reference grammar the control plane's `--image` is checked against
 * (model/imageReference.ts, after github.com/distribution/reference regexp.go).
 */
import { describe, expect, it } from "vitest";
import { imageReferenceProblem } from "../model/imageReference";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("image references", () => {
  it("accepts what a registry parses: registry with port, nested paths, separators, tags and sha256 digests", () => {
    for (const ref of [
      "redis:7.4.11-alpine",
      "ghcr.io/madfam-io/switchyard-api:1.4.3",
      "docker.io/library/nginx:1.29.3",
      "localhost:5000/team/app:2025.12.07",
      "registry.example.com:5000/a__b/c-d/e.f:v1_0",
      "[2001:db8::1]:5000/app:1",
      `ghcr.io/madfam-io/janua@${DIGEST}`,
      `ghcr.io/madfam-io/janua:1.2.3@${DIGEST}`,
      "cloudflare/cloudflared:2025.11.1",
    ])
      expect(imageReferenceProblem(ref), ref).toBeUndefined();
  });

  it("refuses what it cannot parse, naming the part", () => {
    expect(imageReferenceProblem("ghcr.io/Madfam/api:1")).toBe(
      '"ghcr.io/Madfam/api:1": the repository "Madfam/api" must be lowercase letters and digits, in components separated by . _ __ or - and joined by /',
    );
    expect(imageReferenceProblem(`ghcr.io/x/api@sha256:${"a".repeat(63)}`)).toBe(
      `"ghcr.io/x/api@sha256:${"a".repeat(63)}": the digest "sha256:${"a".repeat(63)}" is not sha256: and 64 lowercase hex digits`,
    );
    expect(imageReferenceProblem(`x/api@sha512:${"a".repeat(128)}`)).toMatch(/the digest "sha512:/);
    expect(imageReferenceProblem("x/api:.hidden")).toBe(
      '"x/api:.hidden": the tag ".hidden" is not a valid tag (letters, digits, _ . -, at most 128)',
    );
    expect(imageReferenceProblem(`x/api:${"1".repeat(129)}`)).toMatch(/is not a valid tag/);
    expect(imageReferenceProblem(":1.0")).toBe('":1.0": no repository name');
    expect(imageReferenceProblem("bad_host.example.com/app:1")).toBe(
      '"bad_host.example.com/app:1": the registry "bad_host.example.com" is not a host name or address (with an optional port)',
    );
    for (const ref of [
      "ghcr.io//api:1",
      "ghcr.io/api-:1",
      "ghcr.io/-api:1",
      "ghcr.io/a___b:1",
      "https://ghcr.io/api:1",
      "api name:1",
      "ghcr.io/api/:1",
    ])
      expect(imageReferenceProblem(ref), ref).toMatch(/must be lowercase|is not a host|is not a valid tag/);
    expect(imageReferenceProblem(`${"a/".repeat(128)}b:1`)).toMatch(/longer than 255 characters/);
  });
});
