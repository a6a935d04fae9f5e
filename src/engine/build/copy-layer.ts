// COPY and ADD without a VM: the chosen files of a FileTree (the context, or a stage's filesystem)
// are written as one layer tar, owned 0:0 or by --chown, with their modes, at Docker's destination
// rules; the checksum of what was copied is the step's cache key (dockerd's "file:<hash>").
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { posix } from 'node:path';
import { Header } from 'tar';
import { invalid } from '../../portlayer/errors.ts';
import { detectCompression, decompressing } from '../../portlayer/images/compression.ts';
import { pathMatch } from '../docker/path-match.ts';
import { cleanPath, FileTree, type TreeNode } from './file-tree.ts';

export interface CopySource {
  tree: FileTree;
  /** Paths COPY may not see (.dockerignore); none for a stage's filesystem. */
  ignored: (path: string) => boolean;
}

export interface CopyRequest {
  keyword: 'COPY' | 'ADD';
  sources: string[];
  /** As written (expanded), before WORKDIR is applied. */
  dest: string;
  workingDir: string;
  owner: { uid: number; gid: number };
  /** A directory for unpacking ADD's local archives. */
  scratchDir: string;
}

/** One entry of the layer: its path in the image and where its metadata/bytes come from. */
interface LayerEntry {
  path: string;
  node: TreeNode;
}

/** Ancestors dockerd would leave as they are in the image; without reading the image, these known ones keep their mode. */
const KNOWN_DIR_MODES: Record<string, number> = { tmp: 0o1777, 'var/tmp': 0o1777 };

const WILDCARD = /[*?[]/;

/** What COPY/ADD will write, resolved against the source; errors as dockerd words them. */
export async function plannedEntries(request: CopyRequest, source: CopySource): Promise<LayerEntry[]> {
  const visible = (path: string) => source.tree.get(path) !== undefined && !source.ignored(path);
  const matched: string[] = [];
  for (const raw of request.sources) {
    if (/^[a-z]+:\/\//i.test(raw)) {
      throw invalid(`${request.keyword} failed: ${raw}: downloading from a URL is not possible on this VCH (it has no access to remote sources); put the file in the build context instead`);
    }
    const pattern = cleanPath(raw);
    if (WILDCARD.test(pattern)) {
      const hits = [...source.tree.nodes.keys()].filter((p) => p !== '' && visible(p) && pathMatch(pattern, p));
      matched.push(...hits);
    } else if (visible(pattern)) {
      matched.push(pattern);
    } else {
      throw invalid(`${request.keyword} failed: file not found in build context or excluded by .dockerignore: stat ${raw}: file does not exist`);
    }
  }
  if (matched.length === 0) throw invalid(`${request.keyword} failed: no source files were specified`);
  const destIsDir = /\/$/.test(request.dest) || request.dest === '.' || request.dest.endsWith('/.');
  const dest = posix.resolve('/', request.workingDir || '/', request.dest);
  if (matched.length > 1 && !destIsDir) {
    throw invalid(`When using ${request.keyword} with more than one source file, the destination must be a directory and end with a /`);
  }
  const entries: LayerEntry[] = [];
  for (const path of matched) {
    const node = source.tree.get(path)!;
    if (node.type === 'dir') {
      // A directory's contents are copied, not the directory itself.
      for (const below of source.tree.subtree(path)) {
        if (!visible(below)) continue;
        const rel = below === path ? '' : below.slice(path.length + (path === '' ? 0 : 1));
        entries.push({ path: cleanPath(posix.join(dest, rel)), node: resolveHardlink(source.tree, source.tree.get(below)!) });
      }
    } else if (request.keyword === 'ADD' && node.type === 'file' && await isLocalArchive(node)) {
      const unpacked = await unpackArchive(node, request.scratchDir);
      for (const below of unpacked.subtree('')) entries.push({ path: cleanPath(posix.join(dest, below)), node: resolveHardlink(unpacked, unpacked.get(below)!) });
    } else {
      const target = destIsDir ? posix.join(dest, posix.basename(path)) : dest;
      entries.push({ path: cleanPath(target), node: resolveHardlink(source.tree, node) });
    }
  }
  return entries.filter((e) => e.path !== '');
}

function resolveHardlink(tree: FileTree, node: TreeNode): TreeNode {
  if (node.type !== 'hardlink') return node;
  const target = tree.get(node.link ?? '');
  return target && target.type === 'file' ? { ...target, mode: node.mode } : { ...node, type: 'file', size: 0 };
}

async function isLocalArchive(node: TreeNode): Promise<boolean> {
  if (!node.content || node.size < 6) return false;
  const handle = await open(node.content, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (detectCompression(head.subarray(0, bytesRead)) !== 'none') return true;
    return bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await handle.close();
  }
}

async function unpackArchive(node: TreeNode, scratchDir: string): Promise<FileTree> {
  const head = Buffer.alloc(6);
  const handle = await open(node.content!, 'r');
  try {
    await handle.read(head, 0, 6, 0);
  } finally {
    await handle.close();
  }
  const stream = decompressing(createReadStream(node.content!), detectCompression(head), 'ADD archive');
  return FileTree.unpack(stream, scratchDir, 'ADD archive');
}

/**
 * Writes the layer tar: the destination's ancestors (root-owned; left out when the tar is put into an
 * image's filesystem, where the existing ones stay as they are), then the entries. Returns the
 * checksum of the copied files (paths, types, modes, owners, link targets and contents).
 */
export async function writeCopyLayer(entries: LayerEntry[], owner: { uid: number; gid: number }, layerFile: string, withAncestors = true): Promise<string> {
  const out = createWriteStream(layerFile, { mode: 0o600, flags: 'wx' });
  const checksum = createHash('sha256');
  const written = new Set<string>();
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const header = async (path: string, node: Pick<TreeNode, 'type' | 'mode' | 'mtime' | 'link'>, size: number, uid: number, gid: number) => {
    const block = Buffer.alloc(512);
    const type = node.type === 'dir' ? 'Directory' : node.type === 'symlink' ? 'SymbolicLink' : 'File';
    const name = node.type === 'dir' ? `${path}/` : path;
    new Header({ path: name, mode: node.mode, uid, gid, size, mtime: node.mtime, type, linkpath: node.link ?? '', uname: '', gname: '' }).encode(block, 0);
    await write(block);
  };
  try {
    for (const entry of entries) {
      for (const ancestor of withAncestors ? ancestorsOf(entry.path) : []) {
        if (written.has(ancestor)) continue;
        written.add(ancestor);
        await header(ancestor, { type: 'dir', mode: KNOWN_DIR_MODES[ancestor] ?? 0o755, mtime: entry.node.mtime }, 0, 0, 0);
      }
      if (written.has(entry.path)) continue;
      written.add(entry.path);
      const { node } = entry;
      const size = node.type === 'file' ? node.size : 0;
      await header(entry.path, node, size, owner.uid, owner.gid);
      checksum.update(`${entry.path}\0${node.type}\0${node.mode}\0${owner.uid}:${owner.gid}\0${node.link ?? ''}\0${size}\0`);
      if (node.type === 'file' && node.content && size > 0) {
        let sent = 0;
        for await (const chunk of createReadStream(node.content) as AsyncIterable<Buffer>) {
          sent += chunk.length;
          checksum.update(chunk);
          await write(chunk);
        }
        if (sent !== size) throw new Error(`${entry.path} changed size while it was copied`);
        if (size % 512) await write(Buffer.alloc(512 - (size % 512)));
      }
    }
    await write(Buffer.alloc(1024));
  } finally {
    out.end();
    await once(out, 'close');
  }
  return checksum.digest('hex');
}

function ancestorsOf(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** --chown=user[:group]: numbers, or names looked up in the image's /etc/passwd and /etc/group (as dockerd). */
export async function resolveChown(value: string | null | undefined, etcFile: (path: string) => Promise<string | undefined>): Promise<{ uid: number; gid: number }> {
  if (!value) return { uid: 0, gid: 0 };
  const [user, group = user] = value.split(':');
  const lookup = async (name: string, file: string, what: string) => {
    if (/^\d+$/.test(name)) return Number(name);
    const entry = (await etcFile(file))?.split('\n').map((l) => l.split(':')).find((fields) => fields[0] === name && fields.length >= 3);
    if (!entry) throw invalid(`unable to convert uid/gid chown string to host mapping: can't find ${what} for ${what === 'uid' ? 'user' : 'group'} ${name}: no such ${what === 'uid' ? 'user' : 'group'} in ${file}`);
    return Number(entry[2]);
  };
  return { uid: await lookup(user, '/etc/passwd', 'uid'), gid: await lookup(group, '/etc/group', 'gid') };
}

/** --chown with numeric ids only (no image to read names from). */
export function parseChown(value: string | null | undefined): { uid: number; gid: number } {
  if (!value) return { uid: 0, gid: 0 };
  const [user, group = user] = value.split(':');
  const id = (part: string) => {
    if (!/^\d+$/.test(part)) throw invalid(`--chown=${value}: the name "${part}" needs an image to look it up in; use numeric ids`);
    return Number(part);
  };
  return { uid: id(user), gid: id(group) };
}

export type { LayerEntry };
