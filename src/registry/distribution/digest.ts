import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from '../http/errors.ts';

const supported: Record<string, { hash: string; length: number }> = {
  sha256: { hash: 'sha256', length: 64 },
  sha512: { hash: 'sha512', length: 128 },
};

const digestRe = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export function isDigest(ref: string): boolean {
  return ref.includes(':');
}

/** Validates a digest string; unsupported algorithms and malformed hex are DIGEST_INVALID (400). */
export function parseDigest(digest: string): { algorithm: string; encoded: string } {
  const m = digestRe.exec(digest);
  const alg = m ? supported[m[1]] : undefined;
  if (!m || !alg || m[2].length !== alg.length || !/^[a-f0-9]+$/.test(m[2])) {
    throw new RegistryError(400, 'DIGEST_INVALID', `invalid or unsupported digest: ${digest}`);
  }
  return { algorithm: m[1], encoded: m[2] };
}

export function hasherFor(algorithm: string): Hash {
  const alg = supported[algorithm];
  if (!alg) throw new RegistryError(400, 'DIGEST_INVALID', `unsupported digest algorithm: ${algorithm}`);
  return createHash(alg.hash);
}

export function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${hasherFor(algorithm).update(data).digest('hex')}`;
}
