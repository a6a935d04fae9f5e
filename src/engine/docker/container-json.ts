// The Docker API's container shapes (inspect and list), made from the port layer's view.
import type { ContainerView } from '../../portlayer/containers/model.ts';
import type { DockerPersonality } from './create-request.ts';
import { humanDuration } from './human-duration.ts';
import { listNetworks, listPorts, networkSettings } from './network-settings.ts';
import type { ContainerNetworkView } from './network-settings.ts';

export interface VmIdentity {
  Backend: string;
  Accelerator: string;
  Pid: number;
  MemoryMiB: number;
  CPUs: number;
  Kernel: string;
}

function personality(c: ContainerView): DockerPersonality {
  return c.record.spec.personality as DockerPersonality;
}

/**
 * Docker's MountPoint per volume and host bind; a volume's Source is its disk, where Docker would show
 * its directory.
 */
function mountPoints(c: ContainerView): Array<Record<string, unknown>> {
  const binds = (c.record.binds ?? []).map((b) => ({
    Type: 'bind',
    Source: b.source,
    Destination: b.target,
    Mode: b.mode,
    RW: !b.readOnly,
    Propagation: 'rprivate',
  }));
  return [...binds, ...(c.record.mounts ?? []).map((m) => ({
    Type: 'volume',
    Name: m.volume,
    Source: m.disk,
    Destination: m.target,
    Driver: m.driver,
    Mode: m.mode,
    RW: !m.readOnly,
    Propagation: '',
  }))];
}

function isRunning(c: ContainerView): boolean {
  return c.state.status === 'running';
}

/** Docker's State.Status: a paused container is still running underneath, a restarting one already exited. */
export function dockerStatus(c: ContainerView): string {
  if (isRunning(c) && c.state.paused) return 'paused';
  if (c.state.status === 'exited' && c.state.restarting) return 'restarting';
  return c.state.status;
}

/** Whether `docker ps` without -a lists it: dockerd counts paused and restarting containers as running. */
export function isUp(c: ContainerView): boolean {
  return isRunning(c) || c.state.restarting === true;
}

function health(c: ContainerView): Record<string, unknown> | undefined {
  const h = c.state.health;
  if (!h) return undefined;
  return {
    Status: h.status,
    FailingStreak: h.failingStreak,
    Log: h.log.map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exitCode, Output: r.output })),
  };
}

export function inspectContainer(c: ContainerView, vm: VmIdentity, net?: ContainerNetworkView): Record<string, unknown> {
  const { record, state } = c;
  const spec = record.spec;
  const docker = personality(c);
  const [path, ...args] = spec.process.argv;
  return {
    Id: record.id,
    Created: record.created,
    Path: path,
    Args: args,
    State: {
      Status: dockerStatus(c),
      Running: isUp(c),
      Paused: isRunning(c) && state.paused === true,
      Restarting: state.restarting === true,
      OOMKilled: false,
      Dead: state.status === 'dead',
      Pid: state.pid,
      ExitCode: state.exitCode,
      Error: state.error,
      StartedAt: state.startedAt,
      FinishedAt: state.finishedAt,
      ...(state.health ? { Health: health(c) } : {}),
    },
    Image: record.imageId,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: `${c.dir}/output.log`,
    Name: `/${spec.name}`,
    RestartCount: state.restartCount,
    Driver: 'vm-disk',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      NetworkMode: 'default',
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: spec.autoRemove,
      Memory: spec.memoryBytes,
      NanoCpus: 0,
      Binds: null,
      LogConfig: { Type: 'json-file', Config: {} },
      ...docker.hostConfig,
      // As dockerd shows links: "/linked:/this/alias".
      Links: spec.network?.links?.length ? spec.network.links.map((l) => `/${l.container}:/${spec.name}/${l.alias}`) : null,
    },
    GraphDriver: {
      Name: 'vm-disk',
      Data: { LowerDisks: record.layerDisks.join(':'), WritableDisk: `${c.dir}/rw.ext4` },
    },
    Mounts: mountPoints(c),
    Config: {
      Hostname: spec.hostname,
      Domainname: spec.domainname,
      User: spec.process.user,
      AttachStdin: docker.config.AttachStdin ?? false,
      AttachStdout: docker.config.AttachStdout ?? false,
      AttachStderr: docker.config.AttachStderr ?? false,
      ExposedPorts: docker.config.ExposedPorts ?? undefined,
      Tty: spec.process.tty,
      OpenStdin: spec.process.openStdin,
      StdinOnce: docker.config.StdinOnce ?? false,
      Env: spec.process.env,
      Cmd: docker.config.Cmd ?? null,
      Image: spec.imageReference,
      Volumes: docker.config.Volumes ?? null,
      WorkingDir: docker.config.WorkingDir ?? '',
      Entrypoint: docker.config.Entrypoint ?? null,
      OnBuild: null,
      Labels: spec.labels,
      StopSignal: spec.stopSignal,
      ...(docker.config.Healthcheck ? { Healthcheck: docker.config.Healthcheck } : {}),
      ...(spec.stopTimeout !== undefined ? { StopTimeout: spec.stopTimeout } : {}),
    },
    NetworkSettings: networkSettings(c, net),
    VirtualMachine: vm,
  };
}

export function statusText(c: ContainerView, now = Date.now()): string {
  const { state } = c;
  switch (state.status) {
    case 'running': {
      const up = `Up ${humanDuration(now - Date.parse(state.startedAt))}`;
      if (state.paused) return `${up} (Paused)`;
      if (state.health) return `${up} (${state.health.status === 'starting' ? 'health: starting' : state.health.status})`;
      return up;
    }
    case 'exited':
      if (state.restarting) return `Restarting (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
      return `Exited (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

export function listEntry(c: ContainerView, net?: ContainerNetworkView): Record<string, unknown> {
  const { record } = c;
  const spec = record.spec;
  return {
    Id: record.id,
    Names: [`/${spec.name}`],
    Image: spec.imageReference,
    ImageID: record.imageId,
    Command: spec.process.argv.join(' '),
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: listPorts(c, net),
    Labels: spec.labels,
    State: dockerStatus(c),
    Status: statusText(c),
    HostConfig: { NetworkMode: (personality(c).hostConfig.NetworkMode as string | undefined) || 'default' },
    NetworkSettings: { Networks: listNetworks(c, net) },
    Mounts: mountPoints(c),
  };
}
