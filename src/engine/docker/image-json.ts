// The Docker API's image shapes (list and inspect) from the port layer's image records.
import type { ImageRecord } from '../../portlayer/images/types.ts';

export function imageListEntry(image: ImageRecord, containers: number): Record<string, unknown> {
  return {
    Id: image.id,
    ParentId: '',
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Created: Math.floor(Date.parse(image.config.created ?? image.stored) / 1000),
    Size: image.size,
    SharedSize: -1,
    Labels: image.config.config?.Labels ?? {},
    Containers: containers,
  };
}

export function inspectImage(image: ImageRecord): Record<string, unknown> {
  const c = image.config;
  return {
    Id: image.id,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? image.stored,
    DockerVersion: '',
    Author: c.author ?? '',
    Config: {
      Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
      Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
      WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
      ...c.config,
    },
    Architecture: c.architecture,
    Variant: c.variant,
    Os: c.os,
    Size: image.size,
    GraphDriver: { Name: 'vm-disk', Data: { LayerDisks: image.layers.map((l) => l.diskPath).join(':') } },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: image.stored },
  };
}
