// /containers/{id}/exec and /exec/{id}/…: `docker exec` — create, start (hijacked or detached),
// resize, inspect.
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson, queryConsoleSize } from '../http/io.ts';
import { hijack } from '../http/hijack.ts';
import { forwardInput, requestedDetachKeys } from '../http/detach-keys.ts';
import { multiplexFrame, STDOUT, STDERR, RAW_STREAM, MULTIPLEXED_STREAM } from '../http/stream-framing.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { ExecService } from '../../portlayer/containers/exec.ts';
import type { ExecSession } from '../../portlayer/backend.ts';

interface ExecCreateRequest {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  ConsoleSize?: [number, number] | null;
  DetachKeys?: string;
}

interface ExecStartRequest {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

export function execRoutes(execs: ExecService): Route[] {
  return [
    { method: 'POST', path: '/containers/:id/exec', handler: (ctx) => create(execs, ctx) },
    { method: 'POST', path: '/exec/:id/start', handler: (ctx) => start(execs, ctx) },
    { method: 'POST', path: '/exec/:id/resize', handler: (ctx) => resize(execs, ctx) },
    { method: 'GET', path: '/exec/:id/json', handler: (ctx) => sendJson(ctx.res, 200, inspect(execs, ctx.params.id)) },
  ];
}

async function create(execs: ExecService, ctx: RequestContext): Promise<void> {
  const request = await readJsonBody<ExecCreateRequest>(ctx.req);
  if (!request.Cmd || request.Cmd.length === 0) throw invalid('No exec command specified');
  const [rows, cols] = request.ConsoleSize ?? [];
  const instance = execs.create(ctx.params.id, {
    argv: request.Cmd,
    env: request.Env ?? [],
    workingDir: request.WorkingDir ?? '',
    user: request.User ?? '',
    tty: request.Tty === true,
    openStdin: request.AttachStdin === true,
    rows: rows || undefined,
    cols: cols || undefined,
  }, request);
  sendJson(ctx.res, 201, { Id: instance.id });
}

async function start(execs: ExecService, ctx: RequestContext): Promise<void> {
  const request = await readJsonBody<ExecStartRequest>(ctx.req);
  const instance = execs.get(ctx.params.id);
  const asked = instance.personality as ExecCreateRequest;
  if (request.Detach) {
    await execs.start(instance.id);
    ctx.res.writeHead(200).end();
    return;
  }
  // The framing follows the start request's Tty, not the exec's, as in dockerd: a client that made
  // the exec with a TTY and starts it without one reads multiplexed frames.
  const raw = request.Tty === true;
  const frame = (stream: number, data: Buffer) => (raw ? data : multiplexFrame(stream, data));
  const detachKeys = requestedDetachKeys(asked.DetachKeys);
  // Like dockerd, the stream is taken over first; a process that cannot start is reported in it,
  // and its exit code (126/127) in the exec's inspect.
  const conn = hijack(ctx, raw ? RAW_STREAM : MULTIPLEXED_STREAM);
  let session: ExecSession;
  try {
    session = await execs.start(instance.id);
  } catch (err) {
    conn.write(frame(STDOUT, Buffer.from(`${(err as Error).message}\r\n`)));
    conn.end();
    return;
  }
  // Detaching leaves the process running, its stdin open.
  let detached = new AbortController().signal;
  if (instance.spec.openStdin) {
    detached = forwardInput(conn.input, detachKeys, { write: (chunk) => session.stdin(chunk), ended: () => session.closeStdin() });
  } else {
    conn.input.resume();
  }
  const wantOut = asked.AttachStdout !== false;
  const wantErr = asked.AttachStderr !== false;
  try {
    for await (const chunk of untilAborted(session.output, detached)) {
      if (conn.closed.aborted) break;
      if (chunk.stream === 'stdout' ? !wantOut : !wantErr) continue;
      conn.write(frame(chunk.stream === 'stdout' ? STDOUT : STDERR, chunk.data));
    }
  } finally {
    conn.end();
  }
}

/** The items of `source` until `signal` aborts (then at once, without waiting for the next item). */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  for (;;) {
    const next = await Promise.race([iterator.next(), aborted]);
    if (next === 'aborted' || next.done) return;
    yield next.value;
  }
}

function resize(execs: ExecService, ctx: RequestContext): void {
  const { rows, cols } = queryConsoleSize(ctx.query);
  execs.resize(ctx.params.id, rows, cols);
  ctx.res.writeHead(200).end();
}

function inspect(execs: ExecService, id: string): Record<string, unknown> {
  const instance = execs.get(id);
  const asked = instance.personality as ExecCreateRequest;
  const [entrypoint, ...args] = instance.spec.argv;
  return {
    ID: instance.id,
    ContainerID: instance.containerId,
    Running: instance.running,
    ExitCode: instance.exitCode,
    Pid: instance.pid,
    CanRemove: false,
    DetachKeys: '',
    OpenStdin: instance.spec.openStdin,
    OpenStdout: asked.AttachStdout !== false,
    OpenStderr: asked.AttachStderr !== false,
    ProcessConfig: { entrypoint, arguments: args, tty: instance.spec.tty, privileged: asked.Privileged === true, user: instance.spec.user },
  };
}
