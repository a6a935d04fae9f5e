// sha256 content digests ("sha256:<64 hex>"), the only algorithm images use in practice.

import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidParameter } from './errors.ts';

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;

export function isSha256Digest(value: unknown): value is string {
  return typeof value === 'string' && SHA256_DIGEST.test(value);
}

/** The hex part of a "sha256:…" digest; throws InvalidParameter for anything else. */
export function digestHex(digest: string, what = 'digest'): string {
  const match = SHA256_DIGEST.exec(digest);
  if (!match) throw invalidParameter(`invalid ${what} "${digest}": expected sha256:<64 hex digits>`);
  return match[1];
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A pass-through stream that digests and counts what flows through it. */
export class DigestingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** The sha256 digest of everything a stream yields (read to its end). */
export async function digestOfStream(source: NodeJS.ReadableStream): Promise<string> {
  const digesting = new DigestingStream();
  await pipeline(source, digesting, async function* (chunks) {
    for await (const _chunk of chunks) { /* digest only */ }
  });
  return digesting.digest();
}
