// dockerd's classic builder (`POST /build`, `DOCKER_BUILDKIT=0 docker build`, docker-compose `build:`).
//
// Why it lives in src/engine and not the port layer: a Dockerfile is Docker's personality through and
// through (its instructions, its messages, its create requests, made with the engine's
// toContainerSpec). It orchestrates only public port-layer services: ContainerService
// (create/start/wait/kill/remove, filesystemOf), ContainerOutput (the RUN output), ContainerFiles
// (write, for COPY) and the image store (resolve, commit, addChild, exportFilesystem, tag) — so the
// port layer knows nothing of builds.
//
// One step per instruction, as dockerd: metadata instructions store a config-only image; COPY/ADD
// write the copied files as a tar on the host (copy-layer.ts) and put it into a never-started container
// of the image, committed as the layer (copy-into-image.ts; no VM); RUN commits a container VM's
// changes (run-step.ts). Each step first looks for its cached result (cache.ts).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ImageRecord, ImageRuntimeConfig } from '../../portlayer/images/types.ts';
import { invalid, notFound } from '../../portlayer/errors.ts';
import type { DockerHostConfig } from '../docker/create-request.ts';
import { parseDockerfile, parseInstructionText, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.ts';
import { applyMetadata, checkSyntax, declareArgs, DEFAULT_SHELL, substitutionLookup, type BuildArgs, type StageState } from './instructions.ts';
import { expandWord, splitWords } from './words.ts';
import { cachedStep } from './cache.ts';
import { parseChown, plannedEntries, resolveChown, writeCopyLayer, type CopySource } from './copy-layer.ts';
import { readFile } from 'node:fs/promises';
import { imageFileTree } from './stage-source.ts';
import { copyIntoImage } from './copy-into-image.ts';
import { FileTree } from './file-tree.ts';
import { RunFailed, runStep, type RunServices } from './run-step.ts';
import type { BuildContext } from './context.ts';
import type { BuildStream } from './stream.ts';

export interface BuildOptions {
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** Remove each RUN container once its step succeeded (`rm`, default true). */
  remove: boolean;
  /** Remove RUN containers even when the step failed (`forcerm`). */
  forceRemove: boolean;
  /** The RUN containers' host config: memory, CPUs, network, extra hosts. */
  host: DockerHostConfig;
  /** Aborted when the client goes away: the build stops (a running RUN is killed). */
  signal?: AbortSignal;
  /** Pulls a base image the VCH lacks (as dockerd does); absent: local images only. */
  pull?: (reference: string) => Promise<void>;
  /** `pull`: pull every base image even when it is here (`docker build --pull`). */
  alwaysPull: boolean;
}

/** Why a build stopped after its stream began: the message goes out as the stream's error. */
export class BuildFailed extends Error {
  readonly code?: number;
  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

const METADATA = new Set(['ENV', 'LABEL', 'ARG', 'MAINTAINER', 'WORKDIR', 'USER', 'STOPSIGNAL', 'EXPOSE', 'VOLUME', 'CMD', 'ENTRYPOINT', 'SHELL', 'HEALTHCHECK', 'ONBUILD']);

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

interface StageRun {
  imageId?: string;
  state: StageState;
}

export class Builder {
  private readonly services: RunServices;
  private readonly context: BuildContext;
  private readonly options: BuildOptions;
  private readonly stream: BuildStream;
  private readonly workDir: string;
  private readonly args: BuildArgs;
  private readonly finished: Array<{ name?: string; run: StageRun }> = [];
  private escape = '\\';
  private stepNumber = 0;
  private totalSteps = 0;
  private scratchCounter = 0;

  constructor(services: RunServices, context: BuildContext, options: BuildOptions, stream: BuildStream, workDir: string) {
    this.services = services;
    this.context = context;
    this.options = options;
    this.stream = stream;
    this.workDir = workDir;
    this.args = { given: options.buildArgs, global: new Map(), used: new Set() };
  }

  /** Parses and checks the Dockerfile before any output (its errors are HTTP 400s), then builds. */
  prepare(): { dockerfile: ParsedDockerfile; stages: Stage[] } {
    const dockerfile = parseDockerfile(this.context.dockerfile);
    this.escape = dockerfile.escape;
    let last = dockerfile.stages.length - 1;
    if (this.options.target) {
      last = dockerfile.stages.findIndex((s) => s.name === this.options.target!.toLowerCase());
      if (last < 0) throw invalid(`failed to reach build target ${this.options.target} in Dockerfile`);
    }
    for (const instruction of [...dockerfile.globalArgs, ...dockerfile.stages.flatMap((s) => s.instructions)]) checkSyntax(instruction, this.escape);
    const stages = dockerfile.stages.slice(0, last + 1).map((s) => ({ ...s, instructions: [...s.instructions] }));
    // dockerd adds the request's labels as one more LABEL step of the last stage.
    const labels = Object.entries(this.options.labels);
    if (labels.length) {
      stages.at(-1)!.instructions.push(parseInstructionText(`LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`));
    }
    this.totalSteps = stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    return { dockerfile, stages };
  }

  async build(dockerfile: ParsedDockerfile, stages: Stage[]): Promise<string> {
    const lookupGlobal = (name: string) => this.args.global.get(name);
    for (const arg of dockerfile.globalArgs) declareArgs(arg.args, this.args.global, this.args, lookupGlobal, this.escape, true);
    let result: StageRun | undefined;
    for (const stage of stages) {
      result = await this.buildStage(stage);
      this.finished.push({ name: stage.name, run: result });
    }
    const unused = Object.keys(this.options.buildArgs).filter((name) => !this.args.used.has(name) && !this.args.global.has(name));
    if (unused.length) this.stream.text(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    let id = result?.imageId;
    if (!id) {
      // `FROM scratch` and nothing else: dockerd refuses to make an image of nothing.
      throw new BuildFailed('No image was generated. Is your Dockerfile empty?');
    }
    for (const tag of this.options.tags) this.services.images.tag(id, tag);
    id = this.services.images.resolve(id)!.id;
    this.stream.aux(id);
    this.stream.text(`Successfully built ${short(id)}\n`);
    for (const tag of this.options.tags) this.stream.text(`Successfully tagged ${tag}\n`);
    return id;
  }

  private step(instruction: Instruction): void {
    if (this.options.signal?.aborted) throw new BuildFailed('the build was cancelled');
    this.stepNumber++;
    this.stream.text(`Step ${this.stepNumber}/${this.totalSteps} : ${instruction.original}\n`);
  }

  private async buildStage(stage: Stage): Promise<StageRun> {
    this.step(stage.from);
    const run = await this.from(stage);
    for (const instruction of stage.instructions) {
      this.step(instruction);
      await this.dispatch(run, instruction);
    }
    return run;
  }

  private async from(stage: Stage): Promise<StageRun> {
    const base = expandWord(stage.base, (name) => this.args.global.get(name), this.escape);
    const state: StageState = { config: {}, args: new Map(), cmdSet: false };
    if (base.toLowerCase() === 'scratch') {
      this.stream.text(' ---> \n');
      return { imageId: undefined, state };
    }
    const previous = this.stageByName(base);
    let image: ImageRecord | undefined;
    if (previous) {
      if (!previous.imageId) return { imageId: undefined, state: { ...previous.state, config: structuredClone(previous.state.config), args: new Map() } };
      image = this.services.images.resolve(previous.imageId);
    } else {
      image = this.options.alwaysPull ? undefined : this.services.images.resolve(base);
      if (!image && this.options.pull) {
        try {
          await this.options.pull(base);
        } catch (err) {
          throw new BuildFailed(`pulling base image ${base}: ${(err as Error).message}`);
        }
        image = this.services.images.resolve(base);
      }
      if (!image) throw new BuildFailed(`No such image: ${base}`);
    }
    if (!image) throw notFound(`No such image: ${base}`);
    state.config = structuredClone(image.config.config ?? {}) as StageState['config'];
    this.stream.text(` ---> ${short(image.id)}\n`);
    const run: StageRun = { imageId: image.id, state };
    const triggers = state.config.OnBuild ?? [];
    if (triggers.length) {
      // The triggers run now, in this stage, and are not inherited further.
      this.stream.text(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      state.config.OnBuild = [];
      for (const trigger of triggers) await this.dispatch(run, parseInstructionText(trigger));
    }
    return run;
  }

  private stageByName(name: string): StageRun | undefined {
    const lower = name.toLowerCase();
    const byName = this.finished.find((s) => s.name === lower);
    if (byName) return byName.run;
    if (/^\d+$/.test(name) && Number(name) < this.finished.length) return this.finished[Number(name)].run;
    return undefined;
  }

  private async dispatch(run: StageRun, instruction: Instruction): Promise<void> {
    if (METADATA.has(instruction.keyword)) return this.metadataStep(run, instruction);
    if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') return this.copyStep(run, instruction);
    if (instruction.keyword === 'RUN') return this.runStep(run, instruction);
    throw new BuildFailed(`${instruction.keyword} is not supported here`);
  }

  private shellOf(run: StageRun): string[] {
    return run.state.config.Shell ?? DEFAULT_SHELL;
  }

  /** Uses the cached result when there is one; else `make` stores the step's image. */
  private async cachedOr(run: StageRun, createdBy: string, make: () => Promise<string>): Promise<void> {
    const cached = this.options.noCache ? undefined : cachedStep(this.services.images, run.imageId, createdBy);
    if (cached) {
      this.stream.text(' ---> Using cache\n');
      run.imageId = cached.id;
      run.state.config = structuredClone(cached.config.config ?? {}) as StageState['config'];
    } else {
      run.imageId = await make();
    }
    this.stream.text(` ---> ${short(run.imageId)}\n`);
  }

  private async metadataStep(run: StageRun, instruction: Instruction): Promise<void> {
    const before = structuredClone(run.state.config);
    const comment = applyMetadata(run.state, instruction, this.args, this.escape);
    const createdBy = `${this.shellOf({ ...run, state: { ...run.state, config: before } }).join(' ')} #(nop)  ${comment}`;
    const config = run.state.config;
    await this.cachedOr(run, createdBy, () => this.services.images.addChild({ parentId: run.imageId, config, createdBy, author: run.state.author }));
    // A cached image carries the same config; args and the CMD flag stay as evaluated.
    run.state.config = config;
  }

  private async copyStep(run: StageRun, instruction: Instruction): Promise<void> {
    const keyword = instruction.keyword as 'COPY' | 'ADD';
    const lookup = substitutionLookup(run.state);
    const flag = (name: string) => instruction.flags.find((f) => f.name === name)?.value;
    for (const f of instruction.flags) {
      if (f.name === 'chmod' || f.name === 'link' || f.name === 'parents' || f.name === 'exclude') throw new BuildFailed(`the --${f.name} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
      if (f.name !== 'from' && f.name !== 'chown' && !(keyword === 'ADD' && f.name === 'checksum')) throw new BuildFailed(`Unknown flag: ${f.name}`);
    }
    if (flag('from') && keyword === 'ADD') throw new BuildFailed('ADD does not support the --from option');
    const words = (instruction.json ?? splitWords(instruction.args, this.escape)).map((w) => expandWord(w, lookup, this.escape));
    if (words.length < 2) throw new BuildFailed(`${keyword} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const dest = words.at(-1)!;
    const sources = words.slice(0, -1);
    const chownFlag = flag('chown');
    const chown = chownFlag ? expandWord(chownFlag, lookup, this.escape) : undefined;
    const scratch = join(this.workDir, `copy-${this.scratchCounter++}`);
    const owner = run.imageId === undefined ? parseChown(chown) : await resolveChown(chown, this.etcReader(run.imageId, join(scratch, 'etc')));
    const source = await this.copySource(flag('from') ?? undefined, sources, scratch);
    const entries = await plannedEntries({ keyword, sources, dest, workingDir: run.state.config.WorkingDir ?? '', owner, scratchDir: join(scratch, 'archives') }, source);
    await mkdir(scratch, { recursive: true });
    const layer = join(scratch, 'layer.tar');
    // On an image, the tar goes into its filesystem (copy-into-image.ts); on scratch it is the layer.
    const onImage = run.imageId !== undefined;
    const checksum = await writeCopyLayer(entries, owner, layer, !onImage);
    const kind = entries.length === 1 && sources.length === 1 ? 'file' : 'multi';
    const from = flag('from') ? `--from=${flag('from')} ` : '';
    const createdBy = `${this.shellOf(run).join(' ')} #(nop) ${keyword} ${from}${chown ? `--chown=${chown} ` : ''}${kind}:${checksum} in ${dest} `;
    const config = run.state.config;
    const parentId = run.imageId;
    await this.cachedOr(run, createdBy, () => parentId !== undefined
      ? copyIntoImage(this.services, parentId, layer, config, createdBy, run.state.author)
      : this.services.images.addChild({ layerTar: layer, config, createdBy, author: run.state.author }));
    run.state.config = config;
    await rm(scratch, { recursive: true, force: true });
  }

  /** Reads /etc/passwd and /etc/group of the image, once and only when a name must be looked up. */
  private etcReader(imageId: string, dir: string): (path: string) => Promise<string | undefined> {
    let tree: Promise<FileTree> | undefined;
    return async (path) => {
      tree ??= imageFileTree(this.services.containers, this.services.images, imageId, ['/etc/passwd', '/etc/group'], dir);
      const node = (await tree).get(path);
      return node?.content ? readFile(node.content, 'utf8') : undefined;
    };
  }

  private async copySource(from: string | undefined, sources: string[], scratch: string): Promise<CopySource> {
    if (!from) return { tree: this.context.tree, ignored: this.context.ignored };
    const stage = this.stageByName(from);
    const imageId = stage ? stage.imageId : this.services.images.resolve(from)?.id;
    if (stage && !stage.imageId) return { tree: new FileTree(), ignored: () => false };
    if (!imageId) throw new BuildFailed(`invalid from flag value ${from}: No such image: ${from}`);
    const tree = await imageFileTree(this.services.containers, this.services.images, imageId, sources, join(scratch, 'from'));
    return { tree, ignored: () => false };
  }

  private async runStep(run: StageRun, instruction: Instruction): Promise<void> {
    if (!run.imageId) throw new BuildFailed('Please provide a source image with `from` prior to run');
    for (const f of instruction.flags) throw new BuildFailed(`the --${f.name} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
    const argv = instruction.json ?? [...this.shellOf(run), instruction.args];
    const env = new Set((run.state.config.Env ?? []).map((e) => e.split('=')[0]));
    const argEnv = [...run.state.args].filter(([name, value]) => value !== undefined && !env.has(name)).map(([name, value]) => `${name}=${value}`);
    // As dockerd records it: the build args the command saw are part of the step (and of its cache key).
    const createdBy = argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ${argv.join(' ')}` : argv.join(' ');
    const config: ImageRuntimeConfig = run.state.config;
    const imageId = run.imageId;
    let containerId: string | undefined;
    await this.cachedOr(run, createdBy, async () => {
      try {
        const id = await runStep(this.services, {
          imageId, argv, config, argEnv, host: this.options.host, createdBy, author: run.state.author, signal: this.options.signal,
          write: (text) => this.stream.text(text),
          created: (cid) => {
            containerId = cid;
            this.stream.text(` ---> Running in ${short(cid)}\n`);
          },
        });
        if (this.options.remove || this.options.forceRemove) await this.removeContainer(containerId!);
        return id;
      } catch (err) {
        // dockerd keeps a failed step's container unless told otherwise (forcerm), or the client left.
        if ((this.options.forceRemove || this.options.signal?.aborted) && containerId) await this.removeContainer(containerId).catch(() => undefined);
        if (err instanceof RunFailed) throw new BuildFailed(err.message, err.code);
        throw err;
      }
    });
    run.state.config = config;
  }

  private async removeContainer(id: string): Promise<void> {
    await this.services.containers.remove(id, { force: true });
    this.stream.text(` ---> Removed intermediate container ${short(id)}\n`);
  }
}

/** A private directory for one build's files, under the datastore. */
export async function buildWorkDir(root: string): Promise<string> {
  const dir = join(root, randomBytes(8).toString('hex'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
