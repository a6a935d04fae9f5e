// The two things a layer directory needs that Node's fs cannot do: device nodes (whiteouts are char
// 0:0 nodes) and the overlay "opaque" xattr. Each is one host-tool run per layer, not one per entry:
// a process start costs milliseconds, and an image can have hundreds of whiteouts.
//
// Nodes are made by GNU tar from a small archive written here. Its names come from the layer
// extractor, which has checked them (no "..", every parent a real directory inside the root) and
// holds each name with an empty placeholder file until now.

import { lstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Header, Pax } from 'tar';
import { runCommand } from './command.ts';

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const XATTR_BATCH = 200;

export interface NodeToMake {
  /** Relative to the layer root, already validated. */
  path: string;
  type: 'char' | 'block' | 'fifo';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
}

const TAR_TYPES = { char: 'CharacterDevice', block: 'BlockDevice', fifo: 'FIFO' } as const;

/** Replaces each node's placeholder with the node itself. */
export async function makeNodes(root: string, nodes: NodeToMake[]): Promise<void> {
  if (nodes.length === 0) return;
  const blocks: Buffer[] = [];
  for (const node of nodes) {
    const absolute = join(root, node.path);
    const placeholder = lstatSync(absolute, { throwIfNoEntry: false });
    if (!placeholder?.isFile() || placeholder.size !== 0) throw new Error(`layer node placeholder ${node.path} changed before its node was made`);
    unlinkSync(absolute);
    blocks.push(...nodeEntry(node));
  }
  blocks.push(Buffer.alloc(1024));
  // Root keeps owners and modes by default; numeric ids never consult the host's user database.
  await runCommand('tar', ['-x', '--numeric-owner', '--same-owner', '--same-permissions', '-C', root, '-f', '-'], Buffer.concat(blocks));
}

function nodeEntry(node: NodeToMake): Buffer[] {
  const fields = {
    path: node.path,
    type: TAR_TYPES[node.type],
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    size: 0,
    mtime: node.mtime ?? new Date(0),
    devmaj: node.major,
    devmin: node.minor,
  };
  const header = new Header(fields);
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  if (!header.needPax) return [block];
  // Long names (or huge ids) travel in a pax header ahead of the entry.
  return [new Pax({ path: node.path, uid: node.uid, gid: node.gid, mtime: fields.mtime }).encode(), block];
}

/** Marks directories opaque for overlayfs (their lower contents are hidden). */
export async function setOpaque(directories: string[]): Promise<void> {
  for (let i = 0; i < directories.length; i += XATTR_BATCH) {
    await runCommand('setfattr', ['-h', '-n', OPAQUE_XATTR, '-v', 'y', '--', ...directories.slice(i, i + XATTR_BATCH)]);
  }
}
