// COPY --from: the files of a finished stage or of a local image, read from the host through the port
// layer (a container is created on the image, never started, its merged filesystem exported as a tar
// and unpacked into a FileTree, then the container is removed).
import { PassThrough } from 'node:stream';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ManagedImageStore } from '../../portlayer/images/types.ts';
import { toContainerSpec } from '../docker/create-request.ts';
import { notFound } from '../../portlayer/errors.ts';
import { cleanPath, FileTree } from './file-tree.ts';

/** The image's files under the given source paths' fixed prefixes (the part before any wildcard). */
export async function imageFileTree(containers: ContainerService, images: ManagedImageStore, imageId: string, sources: string[], dir: string): Promise<FileTree> {
  const image = images.resolve(imageId);
  if (!image) throw notFound(`No such image: ${imageId}`);
  const prefixes = sources.map((s) => cleanPath(s.split(/[*?[]/)[0].replace(/[^/]*$/, (last) => (/[*?[]/.test(s) ? '' : last))));
  const wanted = (path: string) => prefixes.some((p) => p === '' || path === p || path.startsWith(`${p}/`) || p.startsWith(`${path}/`));
  const spec = toContainerSpec('', { Image: image.id, Cmd: ['true'], Entrypoint: [''], HostConfig: { NetworkMode: 'none' } }, image);
  const container = await containers.create(spec);
  try {
    const tar = new PassThrough();
    const exported = images.exportFilesystem(containers.filesystemOf(container.record.id), tar).then(() => tar.end(), (err: unknown) => tar.destroy(err as Error));
    const tree = await FileTree.unpack(tar, dir, `filesystem of ${imageId}`, wanted);
    await exported;
    return tree;
  } finally {
    await containers.remove(container.record.id, { force: true });
  }
}
