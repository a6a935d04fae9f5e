// RUN: a container VM from the current image with the command, its output streamed into the build,
// its exit code checked, and its writable disk committed as the next layer — all through the port
// layer's public container service and image store (create, start, wait, commit, remove).
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ContainerOutput } from '../../portlayer/containers/output.ts';
import type { ContainerFiles } from '../../portlayer/containers/files.ts';
import type { ManagedImageStore, ImageRuntimeConfig } from '../../portlayer/images/types.ts';
import { toContainerSpec, type DockerHostConfig } from '../docker/create-request.ts';
import { notFound, PortLayerError } from '../../portlayer/errors.ts';

export interface RunServices {
  containers: ContainerService;
  output: ContainerOutput;
  images: ManagedImageStore;
  /** Host-side file access to stopped containers (COPY into an image). */
  files: ContainerFiles;
}

export interface RunStep {
  imageId: string;
  argv: string[];
  /** The image's config so far: the committed image gets it (its Cmd, not the RUN command). */
  config: ImageRuntimeConfig;
  /** Build args visible to the command, added to its environment (not to the image). */
  argEnv: string[];
  host: DockerHostConfig;
  createdBy: string;
  author?: string;
  /** Where the command's output goes (the build stream). */
  write: (text: string) => void;
  /** Called once the container exists, with its id. */
  created: (id: string) => void;
  /** The client went away: the command is killed and the step fails. */
  signal?: AbortSignal;
}

/** Thrown for a non-zero exit, with dockerd's message. */
export class RunFailed extends Error {
  readonly code: number;
  constructor(argv: string[], code: number) {
    super(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`);
    this.code = code;
  }
}

/** Runs the step; returns the committed image's id. The caller removes the container (rm/forcerm). */
export async function runStep(services: RunServices, step: RunStep): Promise<string> {
  const image = services.images.resolve(step.imageId);
  if (!image) throw notFound(`No such image: ${step.imageId}`);
  const { containers, output } = services;
  const spec = toContainerSpec('', {
    Image: image.id,
    Cmd: step.argv,
    Entrypoint: [''],
    Env: [...(step.config.Env ?? []), ...step.argEnv.filter((a) => !(step.config.Env ?? []).some((e) => e.split('=')[0] === a.split('=')[0]))],
    User: step.config.User ?? '',
    WorkingDir: step.config.WorkingDir ?? '',
    Labels: {},
    HostConfig: step.host,
  }, image);
  const container = await containers.create(spec);
  const id = container.record.id;
  step.created(id);
  let delivered = 0;
  const live = (async () => {
    for await (const record of output.attach(id, { logs: true })) {
      delivered++;
      step.write(record.data.toString('utf8'));
    }
  })();
  const cancel = () => void containers.kill(id).catch(() => undefined);
  step.signal?.addEventListener('abort', cancel);
  let exit;
  try {
    await containers.start(id);
    exit = await containers.wait(id, 'not-running');
  } finally {
    step.signal?.removeEventListener('abort', cancel);
  }
  if (step.signal?.aborted) throw new PortLayerError('System', 'the build was cancelled');
  await live.catch(() => undefined);
  // Whatever the live reader had not reached when the exit stopped it.
  let index = 0;
  for await (const record of output.logs(id, { follow: false })) {
    if (index++ >= delivered) step.write(record.data.toString('utf8'));
  }
  if (exit.error) throw new PortLayerError('System', `the command '${step.argv.join(' ')}' could not run: ${exit.error}`);
  if (exit.code !== 0) throw new RunFailed(step.argv, exit.code);
  return services.images.commit({
    parentId: image.id,
    filesystem: containers.filesystemOf(id),
    containerConfig: step.config,
    createdBy: step.createdBy,
    author: step.author,
  });
}
