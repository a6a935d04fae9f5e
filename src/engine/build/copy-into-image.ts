// COPY/ADD onto an image: the layer tar is put into a (never started) container of the image from the
// host, then the container is committed — so directories the image already has keep their owner and
// mode (overlayfs copies them up as they are), as when dockerd copies into its build container.
import { createReadStream } from 'node:fs';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ContainerFiles } from '../../portlayer/containers/files.ts';
import type { ImageRuntimeConfig, ManagedImageStore } from '../../portlayer/images/types.ts';
import { notFound } from '../../portlayer/errors.ts';
import { toContainerSpec } from '../docker/create-request.ts';

export interface CopyServices {
  containers: ContainerService;
  images: ManagedImageStore;
  files: ContainerFiles;
}

/** Returns the committed image's id. `layerTar` holds the copied entries without their ancestors. */
export async function copyIntoImage(services: CopyServices, parentId: string, layerTar: string, config: ImageRuntimeConfig, createdBy: string, author?: string): Promise<string> {
  const image = services.images.resolve(parentId);
  if (!image) throw notFound(`No such image: ${parentId}`);
  const spec = toContainerSpec('', { Image: image.id, Cmd: ['true'], Entrypoint: [''], HostConfig: { NetworkMode: 'none' } }, image);
  const container = await services.containers.create(spec);
  const id = container.record.id;
  try {
    await services.files.write(id, '/', createReadStream(layerTar), { noOverwriteDirNonDir: false, copyUIDGID: false });
    return await services.images.commit({
      parentId: image.id,
      filesystem: services.containers.filesystemOf(id),
      containerConfig: config,
      createdBy,
      author,
    });
  } finally {
    await services.containers.remove(id, { force: true });
  }
}
