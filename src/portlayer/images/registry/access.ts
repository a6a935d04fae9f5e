// How this VCH may reach registries, as its admin set it (see src/engine/registry-config.ts):
// which hosts may use plain HTTP or unverified TLS, which extra CAs to trust, which registries are
// allowed at all, and how long a silent registry is waited for.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forbidden } from '../errors.ts';

export interface RegistryAccess {
  /** "host:port" or "host": plain HTTP, or HTTPS without certificate checks, is allowed there. */
  insecure: string[];
  /** "host:port" or "host" registries may be used; empty means every registry. */
  allowed: string[];
  /** Extra CA certificates (PEM) trusted for every registry. */
  caCertificates: string[];
  /** dockerd-style certs.d directory: <dir>/<host:port>/*.crt are CAs for that registry. */
  certsDir?: string;
  /** Milliseconds a registry may stay silent during a request before it is abandoned. */
  stallTimeoutMs: number;
}

export const DEFAULT_REGISTRY_ACCESS: RegistryAccess = { insecure: [], allowed: [], caCertificates: [], stallTimeoutMs: 60_000 };

/** The host a reference's domain is served from (Docker Hub's API lives on another name). */
export function registryHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

function matches(list: string[], domain: string): boolean {
  const bare = domain.replace(/:\d+$/, '');
  return list.some((entry) => entry === domain || entry === bare || (domain === 'docker.io' && entry === 'registry-1.docker.io'));
}

/** Where dockerd allows insecure registries without being told: loopback (it lists these in `docker info`). */
export const LOOPBACK_INSECURE_CIDRS = ['::1/128', '127.0.0.0/8'];

/** A registry named by a loopback address or `localhost` ("127.0.0.1:5000", "localhost:5000", "[::1]:5000"). */
export function isLoopbackRegistry(domain: string): boolean {
  // "[v6]:port", a bare IPv6 address (more than one colon), or "host[:port]".
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.split(':').length > 2 ? domain : domain.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** HTTPS without certificate checks, then plain HTTP, is allowed: listed by the admin, or on loopback as with dockerd. */
export function isInsecure(access: RegistryAccess, domain: string): boolean {
  return matches(access.insecure, domain) || isLoopbackRegistry(domain);
}

/** Throws Forbidden when the admin's allow-list does not include `domain`. */
export function checkAllowed(access: RegistryAccess, domain: string): void {
  if (access.allowed.length === 0 || matches(access.allowed, domain)) return;
  throw forbidden(`registry ${domain} is not allowed by this VCH (allowed registries: ${access.allowed.join(', ')})`);
}

/** CA certificates to trust for `domain`: the configured ones plus certs.d/<domain>/*.crt. */
export function caCertificatesFor(access: RegistryAccess, domain: string): string[] {
  const cas = [...access.caCertificates];
  if (access.certsDir) {
    const dir = join(access.certsDir, domain);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // no directory for this registry
    }
    for (const name of names.filter((n) => n.endsWith('.crt')).sort()) cas.push(readFileSync(join(dir, name), 'utf8'));
  }
  return cas;
}
