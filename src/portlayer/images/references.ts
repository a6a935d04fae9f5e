// Docker image references: parsing, normalising and the familiar (short) display form.
//
//   reference := name [":" tag] ["@" digest]
//   name      := [domain "/"] component ("/" component)*
// The first component is a registry domain only when it looks like one (has "." or ":", is
// "localhost", or has upper case); otherwise the domain is docker.io, where a one-component path
// lives under "library/". Displayed ("familiar") names drop "docker.io/" and "library/", so
// "docker.io/library/busybox" shows as "busybox" — the form Docker prints and we store.

import { invalidParameter } from './errors.ts';

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** "docker.io", "localhost:5000", "registry.example.com". */
  domain: string;
  /** Repository path below the domain: "library/busybox", "a/b". */
  path: string;
  tag?: string;
  /** "sha256:<64 hex>". */
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const FULL_HEX_ID = /^[0-9a-f]{64}$/;
const MAX_NAME_LENGTH = 255;

/** Parses and normalises a reference; throws InvalidParameter when it is not one. */
export function parseReference(text: string): ImageReference {
  const invalid = (why: string) => invalidParameter(`invalid reference format "${text}": ${why}`);
  if (FULL_HEX_ID.test(text)) throw invalid('a 64-hex-digit string is an image id, not a repository name');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid('digest must be sha256:<64 lower-case hex digits>');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid('bad tag');
  }

  if (rest.length === 0) throw invalid('empty name');
  if (rest.length > MAX_NAME_LENGTH) throw invalid(`name longer than ${MAX_NAME_LENGTH} characters`);
  const components = rest.split('/');
  let domain = DEFAULT_DOMAIN;
  if (components.length > 1 && looksLikeDomain(components[0])) {
    domain = components.shift() as string;
    if (!DOMAIN.test(domain)) throw invalid('bad registry domain');
    if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  }
  for (const component of components) {
    if (!PATH_COMPONENT.test(component)) throw invalid('repository names must be lower case letters, digits and separators');
  }
  if (domain === DEFAULT_DOMAIN && components.length === 1) components.unshift('library');
  return { domain, path: components.join('/'), tag, digest };
}

function looksLikeDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

/** "busybox", "user/app", "localhost:5000/a/b". */
export function familiarName(reference: ImageReference): string {
  if (reference.domain !== DEFAULT_DOMAIN) return `${reference.domain}/${reference.path}`;
  const parts = reference.path.split('/');
  return parts.length === 2 && parts[0] === 'library' ? parts[1] : reference.path;
}

/** "busybox:latest" — the tag defaults to latest. Throws when `text` is not a name[:tag] reference. */
export function normaliseTag(text: string): string {
  const reference = parseReference(text);
  if (reference.digest) throw invalidParameter(`"${text}" has a digest; a tag reference is required`);
  return `${familiarName(reference)}:${reference.tag ?? DEFAULT_TAG}`;
}

/** "busybox@sha256:…" for a repository and a manifest digest. */
export function repoDigestReference(name: string, digest: string): string {
  return `${familiarName(parseReference(name))}@${digest}`;
}
