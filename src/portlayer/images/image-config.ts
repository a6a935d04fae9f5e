// Checks an image config document before the store trusts it: the fields the rest of Bonneville
// relies on must be there and well-formed.

import { isSha256Digest } from './digest.ts';
import { invalidParameter } from './errors.ts';
import type { ImageConfigDocument } from './types.ts';

export function parseImageConfig(bytes: Buffer, id: string): ImageConfigDocument {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw invalidParameter(`image config ${id} is not valid JSON`, error);
  }
  const config = document as Partial<ImageConfigDocument> | null;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalidParameter(`image config ${id} is not a JSON object`);
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') {
    throw invalidParameter(`image config ${id} lacks "os" or "architecture"`);
  }
  const rootfs = config.rootfs;
  if (rootfs?.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isSha256Digest)) {
    throw invalidParameter(`image config ${id} needs rootfs.type "layers" and sha256 diff_ids`);
  }
  return config as ImageConfigDocument;
}
