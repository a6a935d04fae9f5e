// Docker's create request, combined with the image's config the way dockerd does it, into the port
// layer's neutral ContainerSpec. The request itself is kept (as `personality`) for inspect.
import type { ContainerSpec } from '../../portlayer/containers/model.ts';
import type { ImageRecord } from '../../portlayer/images/types.ts';
import { invalid } from '../../portlayer/errors.ts';
import { dockerMounts } from './mounts.ts';
import { dockerNetworkRequest } from './network-request.ts';
import { dockerHealthcheck, dockerRestartPolicy, mergeHealthcheck } from './lifecycle-request.ts';
import type { DockerHealthConfig } from './lifecycle-request.ts';
import { dockerLogConfig } from './log-config.ts';
import type { DockerLogConfig } from './log-config.ts';

export interface DockerHostConfig {
  AutoRemove?: boolean;
  Memory?: number;
  NanoCpus?: number;
  CpuCount?: number;
  Binds?: string[] | null;
  GroupAdd?: string[] | null;
  NetworkMode?: string;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  [key: string]: unknown;
}

export interface DockerCreateRequest {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Image?: string;
  Labels?: Record<string, string> | null;
  WorkingDir?: string;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: DockerHealthConfig | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  HostConfig?: DockerHostConfig;
  NetworkingConfig?: unknown;
  [key: string]: unknown;
}

/** What the engine keeps of the request, to answer inspect with what the user asked for. */
export interface DockerPersonality {
  config: DockerCreateRequest;
  hostConfig: DockerHostConfig;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function asList(value: string[] | string | null | undefined): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}

/** Later entries win, keyed by the variable name; order of first appearance is kept. */
export function mergeEnv(...lists: Array<string[] | null | undefined>): string[] {
  const merged = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list ?? []) {
      const eq = entry.indexOf('=');
      merged.set(eq === -1 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...merged.values()];
}

export function toContainerSpec(name: string, request: DockerCreateRequest, image: ImageRecord): ContainerSpec {
  if (!request.Image) throw invalid('Config.Image is required');
  const imageConfig = image.config.config ?? {};
  const host = request.HostConfig ?? {};
  const requestEntrypoint = asList(request.Entrypoint);
  const requestCmd = asList(request.Cmd);
  // An entrypoint given on create replaces the image's entrypoint and drops the image's cmd.
  const entrypoint = requestEntrypoint ?? imageConfig.Entrypoint ?? [];
  const cmd = requestCmd && requestCmd.length > 0 ? requestCmd : requestEntrypoint ? [] : imageConfig.Cmd ?? [];
  const argv = [...(entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint), ...cmd];
  if (argv.length === 0) throw invalid('No command specified');
  if (host.Memory !== undefined && host.Memory !== 0 && host.Memory < 6 * 1024 * 1024) {
    throw invalid('Minimum memory limit allowed is 6MB');
  }
  const tty = request.Tty === true;
  const hostname = request.Hostname ?? '';
  const env = mergeEnv(
    [DEFAULT_PATH],
    imageConfig.Env,
    request.Env,
  );
  const labels = { ...(imageConfig.Labels ?? {}), ...(request.Labels ?? {}) };
  const cpus = host.NanoCpus ? host.NanoCpus / 1e9 : host.CpuCount ?? 0;
  const { mounts, binds, volumesFrom } = dockerMounts(request, image);
  const healthConfig = mergeHealthcheck(request.Healthcheck, imageConfig.Healthcheck);
  return {
    name,
    imageReference: request.Image,
    process: {
      argv,
      env: tty && !env.some((e) => e.startsWith('TERM=')) ? [...env, 'TERM=xterm'] : env,
      workingDir: request.WorkingDir || imageConfig.WorkingDir || '/',
      user: request.User || imageConfig.User || '',
      ...(host.GroupAdd?.length ? { groups: host.GroupAdd } : {}),
      tty,
      openStdin: request.OpenStdin === true,
    },
    hostname,
    domainname: request.Domainname ?? '',
    labels,
    stopSignal: request.StopSignal || imageConfig.StopSignal || 'SIGTERM',
    stopTimeout: request.StopTimeout ?? undefined,
    autoRemove: host.AutoRemove === true,
    memoryBytes: host.Memory ?? 0,
    cpus,
    mounts,
    volumesFrom,
    ...(binds.length > 0 ? { binds } : {}),
    network: dockerNetworkRequest(request, image),
    restartPolicy: dockerRestartPolicy(host.RestartPolicy, host.AutoRemove === true),
    healthcheck: dockerHealthcheck(healthConfig),
    // Inspect shows the effective values (image defaults applied), as dockerd does.
    personality: {
      config: { ...request, Healthcheck: healthConfig ?? null, Cmd: cmd, Entrypoint: entrypoint.length ? entrypoint : null, WorkingDir: request.WorkingDir || imageConfig.WorkingDir || '' },
      hostConfig: { ...host, LogConfig: dockerLogConfig(host.LogConfig as DockerLogConfig | null | undefined) },
    } satisfies DockerPersonality,
  };
}
