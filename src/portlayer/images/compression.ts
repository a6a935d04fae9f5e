// Tar streams arrive plain, gzip- or zstd-compressed; the first bytes say which (media types lie).

import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { invalidParameter } from './errors.ts';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

/** The compression of a blob from its first (up to 6) bytes. */
export function detectCompression(head: Buffer): Compression {
  if (head.length < 6) head = Buffer.concat([head, Buffer.alloc(6 - head.length)]);
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

function decompressor(compression: Compression, what: string): NodeJS.ReadWriteStream | undefined {
  switch (compression) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd':
      // zstd arrived in node:zlib with Node 23.8/22.15; feature-test rather than trust the version.
      if (typeof zlib.createZstdDecompress === 'function') return zlib.createZstdDecompress();
      throw invalidParameter(`${what} is zstd-compressed, which this Node.js cannot decompress`);
    default:
      throw invalidParameter(`${what} is ${compression}-compressed; only gzip, zstd or uncompressed tar is supported`);
  }
}

/** `raw` decompressed; destroying the result destroys `raw` too (and an error on either side reaches the reader). */
export function decompressing(raw: Readable, compression: Compression, what: string): Readable {
  const inflate = decompressor(compression, what);
  if (!inflate) return raw;
  // pipeline destroys both streams on error, so a failure on either side reaches the reader.
  return pipeline(raw, inflate, () => {}) as unknown as Readable;
}

/** The compression of a file, from its first bytes. */
export async function fileCompression(path: string): Promise<Compression> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(6);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  return detectCompression(head);
}

/** The uncompressed content of a file holding a (possibly compressed) tar. */
export async function openDecompressed(path: string, what: string): Promise<Readable> {
  return decompressing(createReadStream(path), await fileCompression(path), what);
}

/** Like openDecompressed, with the raw (compressed) bytes passed through `raw` first, e.g. to digest them. */
export async function openDecompressedThrough(path: string, raw: NodeJS.ReadWriteStream, what: string): Promise<{ stream: Readable; compression: Compression }> {
  const compression = await fileCompression(path);
  const rawStream = pipeline(createReadStream(path), raw, () => {}) as unknown as Readable;
  return { stream: decompressing(rawStream, compression, what), compression };
}

/** The uncompressed content of a stream holding a (possibly compressed) tar. */
export async function decompressedStream(input: NodeJS.ReadableStream, what: string): Promise<Readable> {
  const chunks = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 6) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const headBytes = head;
  async function* everything(): AsyncGenerator<Buffer> {
    if (headBytes.length > 0) yield headBytes;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  return decompressing(Readable.from(everything()), detectCompression(head), what);
}
