// /containers/{id}/exec and /exec/{id}/…: `docker exec` — create, start (hijacked or detached),
// resize, inspect.
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson, queryConsoleSize } from '../http/io.ts';
import { hijack } from '../http/hijack.ts';
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
  const tty = instance.spec.tty;
  const frame = (stream: number, data: Buffer) => (tty ? data : multiplexFrame(stream, data));
  // Like dockerd, the stream is taken over first; a process that cannot start is reported in it,
  // and its exit code (126/127) in the exec's inspect.
  const conn = hijack(ctx, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
  let session: ExecSession;
  try {
    session = await execs.start(instance.id);
  } catch (err) {
    conn.write(frame(STDOUT, Buffer.from(`${(err as Error).message}\r\n`)));
    conn.end();
    return;
  }
  if (instance.spec.openStdin) {
    conn.input.on('data', (chunk: Buffer) => session.stdin(chunk));
    conn.input.on('end', () => session.closeStdin());
  } else {
    conn.input.resume();
  }
  const wantOut = asked.AttachStdout !== false;
  const wantErr = asked.AttachStderr !== false;
  try {
    for await (const chunk of session.output) {
      if (conn.closed.aborted) break;
      if (chunk.stream === 'stdout' ? !wantOut : !wantErr) continue;
      conn.write(frame(chunk.stream === 'stdout' ? STDOUT : STDERR, chunk.data));
    }
  } finally {
    conn.end();
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
