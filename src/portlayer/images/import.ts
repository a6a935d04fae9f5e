// `docker import`: a tarball of a root filesystem (plain or compressed) becomes a one-layer image,
// with a config made here — architecture, the --change instructions, the import message.

import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openDecompressed } from './compression.ts';
import { digestOfStream } from './digest.ts';
import { invalidParameter } from './errors.ts';
import { normaliseTag } from './references.ts';
import type { ImageToLoad } from './tarball.ts';
import type { ImageRuntimeConfig } from './types.ts';

export interface ImportRequest {
  input: NodeJS.ReadableStream;
  /** "name:tag" to give the image, if any. */
  reference?: string;
  message?: string;
  /** Dockerfile instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL. */
  changes?: string[];
}

export async function importRootfs(request: ImportRequest, workDir: string): Promise<ImageToLoad> {
  const blob = join(workDir, 'rootfs-blob');
  await pipeline(request.input, createWriteStream(blob, { flags: 'wx', mode: 0o600 }));
  const diffId = await digestOfStream(await openDecompressed(blob, 'imported tarball'));
  const created = new Date().toISOString();
  const config: ImageRuntimeConfig = {};
  for (const change of request.changes ?? []) applyChange(config, change);
  const document = {
    architecture: 'amd64',
    os: 'linux',
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: '', comment: request.message || 'Imported from -' }],
  };
  return {
    configBytes: Buffer.from(JSON.stringify(document)),
    layerFiles: [blob],
    repoTags: request.reference ? [normaliseTag(request.reference)] : [],
    repoDigests: [],
  };
}

function listOrShell(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
    } catch {
      // fall through to the shell form
    }
  }
  return ['/bin/sh', '-c', trimmed];
}

function keyValues(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const match of text.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    pairs.push([match[1], match[2].startsWith('"') ? JSON.parse(match[2]) as string : match[2]]);
  }
  if (pairs.length === 0) {
    const [key, ...rest] = text.trim().split(/\s+/);
    if (key) pairs.push([key, rest.join(' ')]);
  }
  return pairs;
}

/** Applies one Dockerfile-style instruction (`docker import/commit --change`) to an image config. */
export function applyChange(config: ImageRuntimeConfig, change: string): void {
  const match = /^\s*(\w+)\s+(.*)$/s.exec(change);
  if (!match) throw invalidParameter(`invalid change "${change}"`);
  const [, instruction, argument] = match;
  switch (instruction.toUpperCase()) {
    case 'CMD': config.Cmd = listOrShell(argument); break;
    case 'ENTRYPOINT': config.Entrypoint = listOrShell(argument); break;
    case 'WORKDIR': config.WorkingDir = argument.trim(); break;
    case 'USER': config.User = argument.trim(); break;
    case 'STOPSIGNAL': config.StopSignal = argument.trim(); break;
    case 'ENV':
      config.Env = [...(config.Env ?? []), ...keyValues(argument).map(([k, v]) => `${k}=${v}`)];
      break;
    case 'LABEL':
      config.Labels = { ...config.Labels, ...Object.fromEntries(keyValues(argument)) };
      break;
    case 'EXPOSE':
      config.ExposedPorts = { ...config.ExposedPorts, ...Object.fromEntries(argument.trim().split(/\s+/).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
      break;
    default:
      throw invalidParameter(`${instruction} is not a valid change command`);
  }
}
