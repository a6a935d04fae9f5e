// `docker save` tarballs: manifest.json lists each image's config, tags and layer files; the legacy
// `repositories` file maps "name" → tag → top layer's v1 id, which names the directory of the top layer.

import { posix } from 'node:path';
import type { ArchiveFiles } from './archive-files.ts';
import { invalidParameter } from './errors.ts';
import { normaliseTag } from './references.ts';
import type { ImageToLoad, Warn } from './tarball.ts';

interface ManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export async function readDockerArchive(archive: ArchiveFiles, warn: Warn): Promise<ImageToLoad[]> {
  const manifest = await archive.readJson('manifest.json');
  if (!Array.isArray(manifest)) throw invalidParameter('manifest.json must be a list of images');
  const legacyTags = archive.has('repositories') ? tagsByLegacyId(await archive.readJson('repositories'), warn) : new Map<string, string[]>();

  const images: ImageToLoad[] = [];
  for (const entry of manifest as unknown[]) {
    if (!isManifestEntry(entry)) throw invalidParameter('manifest.json entry needs "Config" and "Layers"');
    const layerFiles = entry.Layers.map((name) => {
      const file = archive.path(name);
      if (file === undefined) throw invalidParameter(`manifest.json lists layer "${name}", which the tarball lacks`);
      return file;
    });
    const topLayerId = entry.Layers.length > 0 ? posix.basename(posix.dirname(entry.Layers[entry.Layers.length - 1])) : '';
    const repoTags = new Set<string>();
    for (const tag of entry.RepoTags ?? []) repoTags.add(normaliseTag(tag));
    for (const tag of legacyTags.get(topLayerId) ?? []) repoTags.add(tag);
    images.push({ configBytes: await archive.read(entry.Config), layerFiles, repoTags: [...repoTags], repoDigests: [] });
  }
  return images;
}

function isManifestEntry(value: unknown): value is ManifestEntry {
  const entry = value as Partial<ManifestEntry> | null;
  return typeof entry?.Config === 'string' && Array.isArray(entry.Layers) && entry.Layers.every((layer) => typeof layer === 'string') &&
    (entry.RepoTags == null || (Array.isArray(entry.RepoTags) && entry.RepoTags.every((tag) => typeof tag === 'string')));
}

/** `repositories`: { "busybox": { "latest": "<v1 id>" } } → v1 id → ["busybox:latest"]. */
function tagsByLegacyId(repositories: unknown, warn: Warn): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  if (typeof repositories !== 'object' || repositories === null) return byId;
  for (const [name, tags] of Object.entries(repositories)) {
    if (typeof tags !== 'object' || tags === null) continue;
    for (const [tag, id] of Object.entries(tags)) {
      if (typeof id !== 'string') continue;
      try {
        const reference = normaliseTag(`${name}:${tag}`);
        byId.set(id, [...(byId.get(id) ?? []), reference]);
      } catch {
        warn(`Ignoring invalid name "${name}:${tag}" in the tarball's repositories file`);
      }
    }
  }
  return byId;
}
