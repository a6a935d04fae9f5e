// GET /system/df (`docker system df`): images with their shared sizes, containers with the space
// their writable disks take, the total of stored layers, volumes with the space their disks take. No
// build cache here (so nothing for `docker system prune` to prune there).
import type { Route } from '../http/router.ts';
import { sendJson } from '../http/io.ts';
import type { ManagedImageStore } from '../../portlayer/images/types.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import { listEntry } from '../docker/container-json.ts';
import { imageListEntry } from '../docker/image-json.ts';
import { volumeJson } from '../docker/volume-json.ts';
import type { VolumeView } from '../../portlayer/volumes/model.ts';

export interface SystemDfBackend {
  images: ManagedImageStore;
  containers: ContainerService;
  volumes: { list(): VolumeView[]; allocatedBytes(name: string): number };
}

export function systemDfRoutes(b: SystemDfBackend): Route[] {
  return [
    { method: 'GET', path: '/system/df', handler: ({ res }) => sendJson(res, 200, usage(b)) },
    // `docker system prune` prunes the build cache too; this engine keeps none yet.
    { method: 'POST', path: '/build/prune', handler: ({ res }) => sendJson(res, 200, { CachesDeleted: [], SpaceReclaimed: 0 }) },
  ];
}

function usage(b: SystemDfBackend): Record<string, unknown> {
  const images = b.images.list();
  const containers = b.containers.list();
  const layerUsers = new Map<string, number>();
  for (const image of images) for (const layer of image.layers) layerUsers.set(layer.diffId, (layerUsers.get(layer.diffId) ?? 0) + 1);
  const perImage = new Map<string, number>();
  for (const c of containers) perImage.set(c.record.imageId, (perImage.get(c.record.imageId) ?? 0) + 1);
  const sizes = new Map(images.map((image) => [image.id, image.size]));
  return {
    LayersSize: b.images.layersBytes(),
    Images: images.map((image) => ({
      ...imageListEntry(image, perImage.get(image.id) ?? 0),
      SharedSize: image.layers.filter((l) => (layerUsers.get(l.diffId) ?? 0) > 1).reduce((total, l) => total + l.size, 0),
    })),
    Containers: containers.map((c) => {
      const sizeRw = b.containers.writableBytes(c.record.id);
      return { ...listEntry(c), SizeRw: sizeRw, SizeRootFs: sizeRw + (sizes.get(c.record.imageId) ?? 0) };
    }),
    Volumes: b.volumes.list().map((v) => volumeJson(v, { size: b.volumes.allocatedBytes(v.record.name) })),
    BuildCache: [],
  };
}
