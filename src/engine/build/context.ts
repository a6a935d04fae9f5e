// The build context: the request body (a tar, possibly gzip/bzip2/xz/zstd-compressed) unpacked into a
// FileTree, the Dockerfile read from it, and `.dockerignore` applied with Docker's own matching rules
// (the CLI already leaves ignored files out; other clients may not).
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';
import { decompressedStream } from '../../portlayer/images/compression.ts';
import { invalid } from '../../portlayer/errors.ts';
import { cleanPath, FileTree } from './file-tree.ts';

export interface BuildContext {
  tree: FileTree;
  dockerfile: string;
  /** Whether `.dockerignore` leaves this (clean, relative) path out of COPY and ADD. */
  ignored(path: string): boolean;
}

export async function readBuildContext(body: Readable, dir: string, dockerfilePath: string): Promise<BuildContext> {
  const { head, stream } = await peek(await decompressedStream(body, 'build context'), 512);
  // `docker build - < Dockerfile`: a body that is not a tar is the Dockerfile itself, with no other files.
  if (!isTarHeader(head)) {
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    return { tree: new FileTree(), dockerfile: Buffer.concat(chunks).toString('utf8'), ignored: () => false };
  }
  const tree = await FileTree.unpack(stream, dir, 'build context');
  const name = cleanPath(dockerfilePath || 'Dockerfile');
  // dockerd also accepts the lower-case name when the default is not there.
  const node = tree.get(name) ?? (dockerfilePath ? undefined : tree.get('dockerfile'));
  if (!node || node.type !== 'file' || !node.content) throw invalid(`Cannot locate specified Dockerfile: ${dockerfilePath || 'Dockerfile'}`);
  const dockerfile = await readFile(node.content, 'utf8');
  const ignoreFile = tree.get('.dockerignore');
  const patterns = ignoreFile?.content ? (await readFile(ignoreFile.content, 'utf8')).split(/\r?\n/) : [];
  // A CommonJS module: its default export sits on the function itself.
  const matcher = dockerignore.default().add(patterns.map((p) => p.trim()).filter((p) => p && !p.startsWith('#')));
  return {
    tree,
    dockerfile,
    ignored: (path) => path !== '' && matcher.ignores(path),
  };
}

/** The first `size` bytes (or fewer, at the end), and a stream of all of it. */
async function peek(input: Readable, size: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < size) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const first = head;
  async function* all(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  return { head, stream: Readable.from(all()) };
}

/** A tar header block: its checksum (bytes 148–155, octal) matches the block's sum. An empty body is a tar of nothing. */
function isTarHeader(block: Buffer): boolean {
  if (block.length === 0 || block.every((b) => b === 0)) return true;
  if (block.length < 512) return false;
  const recorded = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  return recorded === sum;
}
