// Docker's ways of asking for volumes — HostConfig.Binds (`-v`), HostConfig.Mounts (`--mount`),
// Config.Volumes (`-v /path`), the image's VOLUMEs, HostConfig.VolumesFrom — as the port layer's
// neutral mount requests, and host-directory binds (`-v /dir:/path`, `--mount type=bind`) as host binds.
// Every container is its own VM: a bind is a directory shared into it, so mount propagation between
// host and container (shared, slave) cannot be had and is refused.
import { posix } from 'node:path';
import type { MountRequest } from '../../portlayer/volumes/model.ts';
import type { HostBind } from '../../portlayer/containers/host-binds.ts';
import type { ImageRecord } from '../../portlayer/images/types.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { DockerCreateRequest } from './create-request.ts';

interface DockerMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null; Subpath?: string };
}

/** `-v` mode words we accept; SELinux labels mean nothing for a VM, propagation is checked apart. */
const BIND_MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'copy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
/** Propagation a bind into a VM has anyway: nothing crosses between host and guest mount tables. */
const PRIVATE_PROPAGATION = new Set(['', 'private', 'rprivate']);

type VolumesFrom = Array<{ container: string; readOnly?: boolean }>;

export function dockerMounts(request: DockerCreateRequest, image: ImageRecord): { mounts: MountRequest[]; binds: HostBind[]; volumesFrom: VolumesFrom } {
  const host = request.HostConfig ?? {};
  const mounts: MountRequest[] = [];
  const binds: HostBind[] = [];
  const add = (m: MountRequest | HostBind) => ('source' in m ? binds.push(m) : mounts.push(m));
  for (const bind of (host.Binds as string[] | null | undefined) ?? []) add(fromBind(bind));
  for (const mount of (host.Mounts as DockerMount[] | null | undefined) ?? []) add(fromMount(mount));
  // Anonymous volumes for the paths the request and the image declare, unless something is mounted there.
  const declared = [...Object.keys(request.Volumes ?? {}), ...Object.keys(image.config.config?.Volumes ?? {})];
  for (const path of declared) {
    const target = containerPath(path, path);
    if (!mounts.some((m) => m.target === target) && !binds.some((b) => b.target === target)) mounts.push({ volume: '', target, readOnly: false, copyUp: true, mode: '' });
  }
  const volumesFrom = ((host.VolumesFrom as string[] | null | undefined) ?? []).map(fromVolumesFrom);
  return { mounts, binds, volumesFrom };
}

/** "name:/path[:mode]", "/path" (anonymous); a source starting with a slash is a host directory. */
function fromBind(bind: string): MountRequest | HostBind {
  const parts = bind.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalid(`invalid volume specification: '${bind}'`);
  if (parts.length === 1) return { volume: '', target: containerPath(parts[0], bind), readOnly: false, copyUp: true, mode: '' };
  const [source, dest, mode = ''] = parts;
  const target = containerPath(dest, bind);
  const words = mode ? mode.split(',') : [];
  for (const word of words) if (!BIND_MODES.has(word)) throw invalid(`invalid mode: ${mode}`);
  if (source.startsWith('/')) {
    for (const word of words) refusePropagation(PROPAGATION_WORDS.has(word) ? word : '', target);
    // dockerd creates a missing source directory for -v.
    return { source: posix.normalize(source), target, readOnly: words.includes('ro'), mode, createSource: true };
  }
  if (source.includes('/') || source.startsWith('.')) {
    throw invalid(`invalid volume specification: '${bind}': "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  // Docker shows "z" for a named volume given without a mode.
  return { volume: source, target, readOnly: words.includes('ro'), copyUp: !words.includes('nocopy'), mode: mode || 'z' };
}

const PROPAGATION_WORDS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

function refusePropagation(propagation: string, target: string): void {
  if (PRIVATE_PROPAGATION.has(propagation)) return;
  throw invalid(`invalid mount config for type "bind": propagation mode "${propagation}" cannot be honoured for ${target}: each container is its own VM and a host directory is shared into it, so mounts never propagate between host and container (use private or rprivate)`);
}

function fromMount(m: DockerMount): MountRequest | HostBind {
  const type = m.Type ?? '';
  if (!m.Target) throw invalid(`invalid mount config for type "${type}": field Target must not be empty`);
  const target = containerPath(m.Target, m.Target);
  if (type === 'bind') return bindFromMount(m, target);
  if (type !== 'volume') throw invalid(`invalid mount config: mount type "${type}" is not supported here (only "volume" and "bind": each container is its own VM)`);
  if (m.VolumeOptions?.Subpath) throw invalid(`invalid mount config for type "volume": VolumeOptions.Subpath is not supported`);
  const options = m.VolumeOptions ?? {};
  return {
    volume: m.Source ?? '',
    target,
    readOnly: m.ReadOnly === true,
    copyUp: options.NoCopy !== true,
    mode: '',
    create: { driver: options.DriverConfig?.Name || undefined, driverOptions: options.DriverConfig?.Options ?? undefined, labels: options.Labels ?? undefined },
  };
}

function fromVolumesFrom(spec: string): { container: string; readOnly?: boolean } {
  const [container, mode, ...rest] = spec.split(':');
  if (!container || rest.length > 0 || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) throw invalid(`invalid volumes-from specification: '${spec}'`);
  return mode === undefined ? { container } : { container, readOnly: mode === 'ro' };
}

function containerPath(path: string, spec: string): string {
  if (!path.startsWith('/')) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${path}' mount path must be absolute`);
  const clean = posix.normalize(path).replace(/\/+$/, '');
  if (clean === '') throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid specification: destination can't be '/'`);
  return clean;
}

function bindFromMount(m: DockerMount, target: string): HostBind {
  const source = m.Source ?? '';
  if (!source) throw invalid('invalid mount config for type "bind": field Source must not be empty');
  if (!source.startsWith('/')) throw invalid(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
  if (m.VolumeOptions) throw invalid('invalid mount config for type "bind": field VolumeOptions must not be specified');
  refusePropagation(m.BindOptions?.Propagation ?? '', target);
  // --mount refuses a missing source unless asked to create it (BindOptions.CreateMountpoint).
  return { source: posix.normalize(source), target, readOnly: m.ReadOnly === true, mode: '', createSource: m.BindOptions?.CreateMountpoint === true };
}
