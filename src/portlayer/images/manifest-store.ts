// manifests/: manifests kept byte for byte (as pulled, or as built for a push), so a push of a pulled
// image sends exactly the manifest — and so the digest — the registry served.

import { readdirSync, readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { digestHex, sha256Digest } from './digest.ts';
import { manifestPath, type ManifestMetadata, type StoreLayout } from './layout.ts';
import { syncPath } from './layer-store.ts';

export interface StoredManifest extends ManifestMetadata {
  bytes: Buffer;
}

export class ManifestStore {
  private readonly layout: StoreLayout;

  constructor(layout: StoreLayout) {
    this.layout = layout;
  }

  async save(bytes: Buffer, metadata: Omit<ManifestMetadata, 'digest'>): Promise<string> {
    const digest = sha256Digest(bytes);
    const path = manifestPath(this.layout, digest);
    const full: ManifestMetadata = { digest, ...metadata };
    // Bytes first, sidecar last: listing only trusts manifests whose sidecar exists.
    for (const [target, content] of [[path, bytes], [`${path}.json`, `${JSON.stringify(full)}\n`]] as const) {
      const temporary = join(this.layout.tmpDir, `manifest-${randomBytes(6).toString('hex')}`);
      await writeFile(temporary, content, { mode: 0o600 });
      syncPath(temporary);
      await rename(temporary, target);
    }
    syncPath(this.layout.manifestsDir);
    return digest;
  }

  list(): ManifestMetadata[] {
    const found: ManifestMetadata[] = [];
    for (const name of readdirSync(this.layout.manifestsDir)) {
      if (!name.endsWith('.json')) continue;
      try {
        found.push(JSON.parse(readFileSync(join(this.layout.manifestsDir, name), 'utf8')) as ManifestMetadata);
      } catch {
        // torn sidecar: ignore
      }
    }
    return found;
  }

  /** Manifests describing image `id`, newest file first is not promised. */
  forImage(id: string): ManifestMetadata[] {
    return this.list().filter((m) => m.config === id);
  }

  read(digest: string): StoredManifest | undefined {
    const path = manifestPath(this.layout, digest);
    try {
      const bytes = readFileSync(path);
      if (sha256Digest(bytes) !== digest) return undefined;
      const metadata = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as ManifestMetadata;
      return { ...metadata, bytes };
    } catch {
      return undefined;
    }
  }

  async remove(digest: string): Promise<void> {
    const path = join(this.layout.manifestsDir, digestHex(digest));
    await rm(`${path}.json`, { force: true });
    await rm(path, { force: true });
  }
}
