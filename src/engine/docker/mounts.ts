// Docker's ways of asking for volumes — HostConfig.Binds (`-v`), HostConfig.Mounts (`--mount`),
// Config.Volumes (`-v /path`), the image's VOLUMEs, HostConfig.VolumesFrom — as the port layer's
// neutral mount requests. Host paths cannot be mounted: every container is its own VM, and the VCH
// host's filesystem is not shared with it.
import { posix } from 'node:path';
import type { MountRequest } from '../../portlayer/volumes/model.ts';
import type { ImageRecord } from '../../portlayer/images/types.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { DockerCreateRequest } from './create-request.ts';

interface DockerMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null; Subpath?: string };
}

/** `-v` mode words we accept; SELinux labels and propagation mean nothing for a VM's own disk. */
const BIND_MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'copy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

export function dockerMounts(request: DockerCreateRequest, image: ImageRecord): { mounts: MountRequest[]; volumesFrom: Array<{ container: string; readOnly?: boolean }> } {
  const host = request.HostConfig ?? {};
  const mounts: MountRequest[] = [];
  for (const bind of (host.Binds as string[] | null | undefined) ?? []) mounts.push(fromBind(bind));
  for (const mount of (host.Mounts as DockerMount[] | null | undefined) ?? []) mounts.push(fromMount(mount));
  // Anonymous volumes for the paths the request and the image declare, unless something is mounted there.
  const declared = [...Object.keys(request.Volumes ?? {}), ...Object.keys(image.config.config?.Volumes ?? {})];
  for (const path of declared) {
    const target = containerPath(path, path);
    if (!mounts.some((m) => m.target === target)) mounts.push({ volume: '', target, readOnly: false, copyUp: true, mode: '' });
  }
  const volumesFrom = ((host.VolumesFrom as string[] | null | undefined) ?? []).map(fromVolumesFrom);
  return { mounts, volumesFrom };
}

/** "name:/path[:mode]", "/path" (anonymous); a source with a slash is a host path. */
function fromBind(bind: string): MountRequest {
  const parts = bind.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalid(`invalid volume specification: '${bind}'`);
  if (parts.length === 1) return { volume: '', target: containerPath(parts[0], bind), readOnly: false, copyUp: true, mode: '' };
  const [source, dest, mode = ''] = parts;
  const target = containerPath(dest, bind);
  if (source.includes('/') || source.startsWith('.')) refuseHostPath(source, target);
  const words = mode ? mode.split(',') : [];
  for (const word of words) if (!BIND_MODES.has(word)) throw invalid(`invalid mode: ${mode}`);
  // Docker shows "z" for a named volume given without a mode.
  return { volume: source, target, readOnly: words.includes('ro'), copyUp: !words.includes('nocopy'), mode: mode || 'z' };
}

function fromMount(m: DockerMount): MountRequest {
  const type = m.Type ?? '';
  if (!m.Target) throw invalid(`invalid mount config for type "${type}": field Target must not be empty`);
  const target = containerPath(m.Target, m.Target);
  if (type === 'bind') refuseHostPath(m.Source ?? '', target);
  if (type !== 'volume') throw invalid(`invalid mount config: mount type "${type}" is not supported here (only "volume": each container is its own VM)`);
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

function refuseHostPath(source: string, target: string): never {
  throw invalid(`host path "${source}" cannot be mounted at ${target}: every container here is its own VM and does not share the VCH host's filesystem; use a volume instead (e.g. -v myvolume:${target} or --mount type=volume,source=myvolume,target=${target})`);
}
