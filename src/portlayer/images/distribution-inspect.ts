// GET /distribution/{name}/json's question — what does the registry hold under this reference? —
// answered without pulling: the top manifest's descriptor, and the platforms it offers (an index's
// entries, or a single manifest's image config).
import { isDescriptor, fetchManifest, fetchSmallBlob } from './registry/distribution.ts';
import { RegistryClient } from './registry/client.ts';
import type { RegistryAccess } from './registry/access.ts';
import type { RegistryCredentials } from './registry/auth.ts';
import { familiarName, type ImageReference } from './references.ts';
import { describeFailures } from './pull.ts';
import { parseImageConfig } from './image-config.ts';
import { IMAGE_MANIFEST_MEDIA_TYPES, INDEX_MEDIA_TYPES } from './media-types.ts';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface DistributionInfo {
  descriptor: { mediaType: string; digest: string; size: number };
  platforms: Platform[];
}

export async function inspectDistribution(reference: ImageReference, credentials: RegistryCredentials, access: RegistryAccess): Promise<DistributionInfo> {
  const name = familiarName(reference);
  const wanted = reference.digest ?? reference.tag ?? 'latest';
  const display = reference.digest ? `${name}@${reference.digest}` : `${name}:${wanted}`;
  const client = new RegistryClient({ domain: reference.domain, credentials, access, scopes: [`repository:${reference.path}:pull`] });
  try {
    const top = await describeFailures(fetchManifest(client, reference.path, wanted), name, display, client.hasCredentials);
    const descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    if (INDEX_MEDIA_TYPES.has(top.mediaType)) {
      const entries = Array.isArray(top.document.manifests) ? top.document.manifests : [];
      const platforms = entries.filter(isDescriptor).flatMap((d) => {
        const p = d.platform;
        return p?.os && p.architecture ? [{ architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) }] : [];
      });
      return { descriptor, platforms };
    }
    const config = (top.document as { config?: unknown }).config;
    if (!IMAGE_MANIFEST_MEDIA_TYPES.has(top.mediaType) || !isDescriptor(config)) return { descriptor, platforms: [] };
    const image = parseImageConfig(await fetchSmallBlob(client, reference.path, config), config.digest);
    const variant = (image as { variant?: unknown }).variant;
    return { descriptor, platforms: [{ architecture: image.architecture, os: image.os, ...(typeof variant === 'string' && variant ? { variant } : {}) }] };
  } finally {
    client.close();
  }
}
