// Evaluation of the instructions that only change the image's config (ENV, LABEL, WORKDIR, USER,
// EXPOSE, VOLUME, ENTRYPOINT, CMD, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER, ARG), with
// dockerd's variable substitution. Pure: no VM, no store — what the unit tests exercise.
import { posix } from 'node:path';
import type { ImageRuntimeConfig } from '../../portlayer/images/types.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { Instruction } from './dockerfile.ts';
import { expandWord, nameValuePairs, splitWords } from './words.ts';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** What one stage's build has so far. */
export interface StageState {
  config: ImageRuntimeConfig & { OnBuild?: string[] };
  /** ARGs declared in this stage (name → value, undefined when it has none). */
  args: Map<string, string | undefined>;
  /** Whether CMD was set in this stage (ENTRYPOINT then keeps it, as in dockerd). */
  cmdSet: boolean;
  author?: string;
}

export interface BuildArgs {
  /** The request's `buildargs`: a null value means "take it from the environment", which a VCH has none of. */
  given: Record<string, string | null>;
  /** ARGs declared before the first FROM, with their values. */
  global: Map<string, string | undefined>;
  /** Names some ARG consumed (the rest are reported as unused, as dockerd warns). */
  used: Set<string>;
}

/** The variables an instruction's words see: the config's Env over the declared ARGs. */
export function substitutionLookup(state: StageState): (name: string) => string | undefined {
  const env = new Map<string, string>();
  for (const [name, value] of state.args) if (value !== undefined) env.set(name, value);
  for (const entry of state.config.Env ?? []) {
    const eq = entry.indexOf('=');
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
  }
  return (name) => env.get(name);
}

/** ARG: declares names (with a default) whose value the request's build args may set. */
export function declareArgs(text: string, args: Map<string, string | undefined>, build: BuildArgs, lookup: (name: string) => string | undefined, escape: string, global = false): void {
  for (const [name, raw] of nameValuePairs(text, 'ARG', escape, true)) {
    const fallback = raw === undefined ? (global ? undefined : build.global.get(name)) : expandWord(raw, lookup, escape);
    const given = build.given[name];
    if (Object.hasOwn(build.given, name)) build.used.add(name);
    args.set(name, given !== undefined && given !== null ? given : fallback);
  }
}

/** The exec form as given, or the shell form run by the stage's shell. */
export function commandOf(instruction: Instruction, shell: string[]): string[] {
  return instruction.json ?? [...shell, instruction.args];
}

/** Applies a metadata-only instruction; returns the text dockerd records in history ("ENV A=1"). */
export function applyMetadata(state: StageState, instruction: Instruction, build: BuildArgs, escape: string): string {
  const lookup = substitutionLookup(state);
  const expand = (word: string) => expandWord(word, lookup, escape);
  const config = state.config;
  const shell = config.Shell ?? DEFAULT_SHELL;
  switch (instruction.keyword) {
    case 'ENV': {
      const pairs = nameValuePairs(instruction.args, 'ENV', escape).map(([k, v]) => [k, expand(v ?? '')] as const);
      const env = [...(config.Env ?? [])];
      for (const [key, value] of pairs) {
        const at = env.findIndex((e) => e === key || e.startsWith(`${key}=`));
        if (at >= 0) env[at] = `${key}=${value}`;
        else env.push(`${key}=${value}`);
      }
      config.Env = env;
      return `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    }
    case 'LABEL': {
      const pairs = nameValuePairs(instruction.args, 'LABEL', escape).map(([k, v]) => [expand(k), expand(v ?? '')] as const);
      config.Labels = { ...config.Labels, ...Object.fromEntries(pairs) };
      return `LABEL ${pairs.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`;
    }
    case 'ARG':
      declareArgs(instruction.args, state.args, build, lookup, escape);
      return `ARG ${instruction.args}`;
    case 'MAINTAINER':
      state.author = instruction.args;
      return `MAINTAINER ${instruction.args}`;
    case 'WORKDIR': {
      const dir = expand(instruction.args);
      if (!dir) throw invalid('WORKDIR requires exactly one argument');
      config.WorkingDir = posix.resolve('/', config.WorkingDir || '/', dir);
      return `WORKDIR ${config.WorkingDir}`;
    }
    case 'USER': {
      const user = expand(instruction.args);
      if (!user) throw invalid('USER requires exactly one argument');
      config.User = user;
      return `USER ${user}`;
    }
    case 'STOPSIGNAL': {
      const signal = expand(instruction.args);
      if (!/^(SIG)?[A-Z0-9+-]+$/i.test(signal)) throw invalid(`Invalid signal: ${signal}`);
      config.StopSignal = signal;
      return `STOPSIGNAL [${signal}]`;
    }
    case 'EXPOSE': {
      const ports = splitWords(instruction.args, escape).map(expand).flatMap(exposedPorts);
      config.ExposedPorts = { ...config.ExposedPorts, ...Object.fromEntries(ports.map((p) => [p, {}])) };
      return `EXPOSE ${ports.join(' ')}`;
    }
    case 'VOLUME': {
      const paths = (instruction.json ?? splitWords(instruction.args, escape)).map(expand);
      if (paths.length === 0 || paths.some((p) => !p.trim())) throw invalid('VOLUME specified can not be an empty string');
      config.Volumes = { ...config.Volumes, ...Object.fromEntries(paths.map((p) => [p, {}])) };
      return `VOLUME [${paths.join(' ')}]`;
    }
    case 'CMD': {
      config.Cmd = commandOf(instruction, shell);
      state.cmdSet = true;
      return `CMD ${goList(config.Cmd)}`;
    }
    case 'ENTRYPOINT': {
      config.Entrypoint = instruction.json ?? (instruction.args ? [...shell, instruction.args] : null);
      if (!state.cmdSet) config.Cmd = null;
      return `ENTRYPOINT ${goList(config.Entrypoint ?? [])}`;
    }
    case 'SHELL': {
      if (!instruction.json || instruction.json.length === 0) throw invalid('SHELL requires the arguments to be in JSON form');
      config.Shell = instruction.json;
      return `SHELL ${goList(instruction.json)}`;
    }
    case 'HEALTHCHECK':
      config.Healthcheck = healthcheckOf(instruction);
      return `HEALTHCHECK ${JSON.stringify(config.Healthcheck)}`;
    case 'ONBUILD': {
      const trigger = instruction.args.trim();
      const word = trigger.split(/\s+/)[0]?.toUpperCase();
      if (!word) throw invalid('ONBUILD requires at least one argument');
      if (word === 'ONBUILD') throw invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (word === 'FROM' || word === 'MAINTAINER') throw invalid(`${word} isn't allowed as an ONBUILD trigger`);
      config.OnBuild = [...(config.OnBuild ?? []), trigger];
      return `ONBUILD ${trigger}`;
    }
    default:
      throw invalid(`${instruction.keyword} is not a metadata instruction`);
  }
}

/** Go's `%v` of a string slice, as dockerd shows CMD and ENTRYPOINT in history. */
function goList(list: string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** "80", "80/udp", "8000-8002/tcp" → the port keys an image config lists. */
export function exposedPorts(spec: string): string[] {
  const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!match) throw invalid(`Invalid containerPort: ${spec}`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (first < 1 || last > 65535 || last < first) throw invalid(`Invalid port range: ${spec}`);
  const proto = (match[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

const DURATION_FLAGS: Record<string, string> = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' };

function healthcheckOf(instruction: Instruction): Record<string, unknown> {
  const words = instruction.args.trim();
  const kind = words.split(/\s+/)[0]?.toUpperCase();
  if (kind === 'NONE') {
    if (words.split(/\s+/).length > 1 || instruction.flags.length) throw invalid('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalid(`Unknown type "${kind ?? ''}" in HEALTHCHECK (try CMD)`);
  const rest = words.slice(3).trim();
  if (!rest) throw invalid('Missing command after HEALTHCHECK CMD');
  let test: string[];
  try {
    const parsed = rest.startsWith('[') ? JSON.parse(rest) as unknown : undefined;
    test = Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? ['CMD', ...parsed] : ['CMD-SHELL', rest];
  } catch {
    test = ['CMD-SHELL', rest];
  }
  const check: Record<string, unknown> = { Test: test };
  for (const flag of instruction.flags) {
    if (flag.name === 'retries') {
      const retries = Number(flag.value);
      if (!Number.isInteger(retries) || retries < 0) throw invalid(`--retries must be a non-negative integer, not ${flag.value}`);
      check.Retries = retries;
    } else if (DURATION_FLAGS[flag.name]) {
      check[DURATION_FLAGS[flag.name]] = goDurationNanos(flag.value ?? '', flag.name);
    } else {
      throw invalid(`Unknown flag: ${flag.name}`);
    }
  }
  return check;
}

const UNIT_NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration ("1m30s", "500ms"), in nanoseconds. */
export function goDurationNanos(text: string, flag: string): number {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw invalid(`invalid duration for --${flag}: ${text}`);
  const nanos = Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_NANOS[unit], 0));
  if (nanos !== 0 && nanos < 1e6) throw invalid(`Interval "${flag}" cannot be less than 1ms`);
  return nanos;
}

/**
 * The checks dockerd makes when it parses the Dockerfile, before any step runs (so they are the
 * request's 400, not a failed step): arguments present and well-formed, without expanding variables.
 */
export function checkSyntax(instruction: Instruction, escape: string): void {
  const fail = (message: string) => {
    throw invalid(`dockerfile parse error line ${instruction.line}: ${message}`);
  };
  const { keyword, args } = instruction;
  const words = splitWords(args, escape);
  try {
    switch (keyword) {
      case 'ENV':
      case 'LABEL':
        if (!args) fail(`${keyword} requires at least one argument`);
        nameValuePairs(args, keyword, escape);
        break;
      case 'ARG':
        if (!args) fail('ARG requires at least one argument');
        nameValuePairs(args, keyword, escape, true);
        break;
      case 'WORKDIR':
      case 'USER':
      case 'STOPSIGNAL':
      case 'MAINTAINER':
        // The rest of the line is the one argument ("WORKDIR /my dir" is one path).
        if (words.length === 0) fail(`${keyword} requires exactly one argument`);
        break;
      case 'EXPOSE':
      case 'VOLUME':
      case 'RUN':
      case 'ONBUILD':
        if (!args) fail(`${keyword} requires at least one argument`);
        break;
      case 'COPY':
      case 'ADD':
        if ((instruction.json ?? words).length < 2) fail(`${keyword} requires at least two arguments, but only one was provided. Destination could not be determined.`);
        break;
      case 'SHELL':
        if (!instruction.json || instruction.json.length === 0) fail('SHELL requires the arguments to be in JSON form');
        break;
      case 'HEALTHCHECK':
        healthcheckOf(instruction);
        break;
      default:
        break;
    }
  } catch (err) {
    if ((err as Error).message.startsWith('dockerfile parse error')) throw err;
    fail((err as Error).message);
  }
}
