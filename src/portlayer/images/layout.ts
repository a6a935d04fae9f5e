// The image store's on-disk layout, in one place. Everything below `root` belongs to the store:
//
//   root/
//     layers/<diffid-hex>/<disk>      the layer's read-only disk, named by the backend's disk store
//                                     (qemu: disk.ext4, an ext4 image; OCI whiteouts as overlay whiteouts)
//     layers/<diffid-hex>/layer.json  { diffId, size, created, tarSize } — see LayerMetadata
//     layers/<diffid-hex>/blobs/<hex>       the layer's blob exactly as received (pulled, loaded or
//     layers/<diffid-hex>/blobs/<hex>.json  imported), kept so a push sends identical bytes; + BlobMetadata
//     manifests/<hex>                 a manifest exactly as pulled or pushed (its sha256 is <hex>)
//     manifests/<hex>.json            ManifestMetadata: its media type and the image (config) it describes
//     configs/<id-hex>.json           the image config document, byte for byte (its sha256 is the image id)
//     references.json                 which images exist, their tags and repo digests (see reference-index.ts)
//     tmp/                            work in progress; emptied whenever a store opens
//
// One thing lives outside root: layers are unpacked on tmpfs when they fit (staging.ts), in
// directories named after the store, which opening the store sweeps just like tmp/.
//
// Visibility rules that make a crash harmless: a layer directory appears only by renaming a complete
// one out of tmp/; a config file likewise; an image exists only once references.json (replaced by
// rename) names it, and that happens after its config and layers are in place. Blobs and manifests
// are added by renaming finished files in; a crash leaves at most unreferenced files, which deleting
// or pruning an image sweeps.

import { join } from 'node:path';
import { digestHex } from './digest.ts';

export interface StoreLayout {
  root: string;
  layersDir: string;
  configsDir: string;
  tmpDir: string;
  manifestsDir: string;
  referencesFile: string;
}

export function storeLayout(root: string): StoreLayout {
  return {
    root,
    layersDir: join(root, 'layers'),
    configsDir: join(root, 'configs'),
    tmpDir: join(root, 'tmp'),
    manifestsDir: join(root, 'manifests'),
    referencesFile: join(root, 'references.json'),
  };
}

export function layerDir(layout: StoreLayout, diffId: string): string {
  return join(layout.layersDir, digestHex(diffId, 'diff_id'));
}

export const LAYER_METADATA_FILE = 'layer.json';
export const LAYER_BLOBS_DIR = 'blobs';

export function configPath(layout: StoreLayout, imageId: string): string {
  return join(layout.configsDir, `${digestHex(imageId, 'image id')}.json`);
}

/** What layer.json holds. */
export interface LayerMetadata {
  diffId: string;
  /** Bytes of regular-file content. */
  size: number;
  /** When the layer was stored (ISO 8601). */
  created: string;
  /** Bytes of the uncompressed layer tar (absent in layers stored before it was recorded). */
  tarSize?: number;
}

/** What blobs/<hex>.json holds. */
export interface BlobMetadata {
  digest: string;
  mediaType: string;
  size: number;
  /** "host/repository" the blob was pulled from, for cross-repository mounts on push. */
  source?: string;
}

/** What manifests/<hex>.json holds. */
export interface ManifestMetadata {
  digest: string;
  mediaType: string;
  /** The image id (config digest) the manifest describes. */
  config: string;
  /** "host/repository" it was pulled from or pushed to. */
  source?: string;
}

export function manifestPath(layout: StoreLayout, digest: string): string {
  return join(layout.manifestsDir, digestHex(digest, 'manifest digest'));
}
