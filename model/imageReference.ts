/**
 * The OCI image reference grammar, as the registries' reference library parses it
 * (github.com/distribution/reference, regexp.go: `ReferenceRegexp` and the expressions it is built
 * from): an image the control plane asks to deploy is refused here, naming the part that is wrong,
 * instead of by the kubelet's pull an update later.
 */

const ALPHANUMERIC = "[a-z0-9]+";
/** `separator`: a period, one or two underscores, or any number of dashes. */
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
/** The only digest the platform pins by: sha256, 64 lowercase hex digits. */
const SHA256_DIGEST = "sha256:[a-f0-9]{64}";
/** The name's whole length, as `NameTotalLengthMax` (reference.go). */
const NAME_MAX_LENGTH = 255;

const full = (re: string) => new RegExp(`^${re}$`);
const PATH = full(`${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`);
const DOMAIN_RE = full(DOMAIN);
const TAG_RE = full(TAG);
const DIGEST_RE = full(SHA256_DIGEST);

/**
 * The grammar as one regular expression (distribution/reference's anchored `ReferenceRegexp`,
 * restricted to sha256 digests), for the JSON Schema a client checks results with; the name's
 * length and the wording of what is wrong stay with `imageReferenceProblem`.
 */
export function imageReferencePattern(): RegExp {
  return full(`(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${SHA256_DIGEST})?`);
}

/** Why `ref` is not an image reference the platform can pull, or undefined when it is one. */
export function imageReferenceProblem(ref: string): string | undefined {
  const at = ref.indexOf("@");
  const named = at < 0 ? ref : ref.slice(0, at);
  const digest = at < 0 ? undefined : ref.slice(at + 1);
  if (digest !== undefined && !DIGEST_RE.test(digest)) return `"${ref}": the digest "${digest}" is not sha256: and 64 lowercase hex digits`;
  const lastSlash = named.lastIndexOf("/");
  const colon = named.indexOf(":", lastSlash + 1);
  const name = colon < 0 ? named : named.slice(0, colon);
  const tag = colon < 0 ? undefined : named.slice(colon + 1);
  if (tag !== undefined && !TAG_RE.test(tag)) return `"${ref}": the tag "${tag}" is not a valid tag (letters, digits, _ . -, at most 128)`;
  if (name.length === 0) return `"${ref}": no repository name`;
  if (name.length > NAME_MAX_LENGTH) return `"${ref}": the name is longer than ${NAME_MAX_LENGTH} characters`;
  // The first component is the registry when it looks like a host: it has a dot or a port, or is localhost.
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const isDomain = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["));
  const path = isDomain ? name.slice(slash + 1) : name;
  if (isDomain && !DOMAIN_RE.test(first)) return `"${ref}": the registry "${first}" is not a host name or address (with an optional port)`;
  if (!PATH.test(path))
    return `"${ref}": the repository "${path}" must be lowercase letters and digits, in components separated by . _ __ or - and joined by /`;
  return undefined;
}
