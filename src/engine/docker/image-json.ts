// The Docker API's image shapes (list and inspect) from the port layer's image records.
import type { ImageRecord } from '../../portlayer/images/types.ts';

export function imageListEntry(image: ImageRecord, containers: number): Record<string, unknown> {
  return {
    Id: image.id,
    ParentId: image.parent ?? '',
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
    Parent: image.parent ?? '',
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
    GraphDriver: { Name: 'vm-disk', Data: { LayerDisks: image.layers.map((l) => l.disk).join(':') } },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: image.stored },
  };
}

/**
 * `docker history`: newest first; the top entry carries the image id and tags, and so does, for each
 * local parent (`lookup` finds it), the entry that was the parent's top — as dockerd shows commits.
 */
export function imageHistory(image: ImageRecord, lookup: (id: string) => ImageRecord | undefined = () => undefined): Array<Record<string, unknown>> {
  const history = image.config.history && image.config.history.length > 0
    ? image.config.history
    : image.layers.map(() => ({ created: image.config.created, created_by: '' as string | undefined, comment: '', empty_layer: false }));
  let layer = 0;
  const entries = history.map((entry) => {
    const size = entry.empty_layer ? 0 : image.layers[layer++]?.size ?? 0;
    return {
      Id: '<missing>',
      Created: Math.floor(Date.parse(entry.created ?? image.config.created ?? image.stored) / 1000) || 0,
      CreatedBy: entry.created_by ?? '',
      Tags: null as string[] | null,
      Size: size,
      Comment: entry.comment ?? '',
    };
  }).reverse();
  if (entries.length > 0) {
    entries[0].Id = image.id;
    entries[0].Tags = image.repoTags.length > 0 ? image.repoTags : null;
  }
  const seen = new Set([image.id]);
  for (let parent = image.parent && lookup(image.parent); parent && !seen.has(parent.id); parent = parent.parent && lookup(parent.parent)) {
    seen.add(parent.id);
    const below = parent.config.history?.length ?? parent.layers.length;
    const entry = entries[entries.length - below];
    if (!entry || below === 0) break;
    entry.Id = parent.id;
    entry.Tags = parent.repoTags.length > 0 ? parent.repoTags : null;
  }
  return entries;
}
