// attach and logs: the port layer's output records, framed the way the Docker API sends them.
import type { RequestContext } from '../http/router.ts';
import type { ContainerRoutesBackend } from './containers.ts';
import { queryBool, queryInt, queryUnixNanos } from '../http/io.ts';
import { hijack } from '../http/hijack.ts';
import type { HijackedStream } from '../http/hijack.ts';
import { acceptWebsocket } from '../http/websocket.ts';
import type { ContainerView } from '../../portlayer/containers/model.ts';
import { assertLogsReadable } from '../docker/log-config.ts';
import { forwardInput, requestedDetachKeys } from '../http/detach-keys.ts';
import { multiplexFrame, STDOUT, STDERR, RAW_STREAM, MULTIPLEXED_STREAM } from '../http/stream-framing.ts';
import { compareVersions } from '../http/router.ts';
import type { OutputRecord } from '../../portlayer/backend.ts';
import { conflict, invalid } from '../../portlayer/errors.ts';

function encoder(tty: boolean, timestamps = false): (r: OutputRecord) => Buffer {
  return (r) => {
    const data = timestamps ? Buffer.concat([Buffer.from(`${nsToRfc3339Nano(r.timeNs)} `), r.data]) : r.data;
    return tty ? data : multiplexFrame(r.stream === 'stdout' ? STDOUT : STDERR, data);
  };
}

function streamType(tty: boolean, version: string): string {
  return tty || compareVersions(version, '1.42') < 0 ? RAW_STREAM : MULTIPLEXED_STREAM;
}

export async function attachHandler(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const container = attachable(b, ctx);
  const tty = container.record.spec.process.tty;
  const detachKeys = requestedDetachKeys(ctx.query.get('detachKeys'));
  await serveAttach(b, ctx, container, hijack(ctx, streamType(tty, ctx.version)), detachKeys, encoder(tty));
}

/** GET /containers/{id}/attach/ws: the same attachment over a websocket, raw bytes both ways. */
export async function attachWebsocketHandler(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const container = attachable(b, ctx);
  const detachKeys = requestedDetachKeys(ctx.query.get('detachKeys'));
  const conn = await acceptWebsocket(ctx);
  await serveAttach(b, ctx, container, conn, detachKeys, (r) => r.data);
}

function attachable(b: ContainerRoutesBackend, ctx: RequestContext): ContainerView {
  const container = b.containers.get(ctx.params.id);
  // As dockerd: a frozen container would take the stream and never answer.
  if (container.state.paused) throw conflict(`container ${container.record.id} is paused, unpause the container before attach`);
  return container;
}

async function serveAttach(b: ContainerRoutesBackend, ctx: RequestContext, container: ContainerView, conn: HijackedStream, detachKeys: Buffer, encode: (r: OutputRecord) => Buffer): Promise<void> {
  const id = container.record.id;
  const tty = container.record.spec.process.tty;
  const wanted = new Set<string>();
  if (queryBool(ctx.query, 'stdout')) wanted.add('stdout');
  if (queryBool(ctx.query, 'stderr')) wanted.add('stderr');
  const stream = queryBool(ctx.query, 'stream');
  const logs = queryBool(ctx.query, 'logs');
  // Detaching ends this attachment only: the process keeps running and keeps its stdin open.
  let attached = conn.closed;
  if (queryBool(ctx.query, 'stdin') && container.record.spec.process.openStdin) {
    const stdin = b.containers.stdinOf(id);
    const stdinOnce = (container.record.spec.personality as { config?: { StdinOnce?: boolean } }).config?.StdinOnce === true;
    const detached = forwardInput(conn.input, detachKeys, {
      write: (chunk) => stdin.write(chunk),
      // As dockerd: the client's end of input closes the process's stdin only for StdinOnce without a
      // TTY — a terminal client that goes away (or detaches on its own) leaves the shell running.
      ended: () => { if (stdinOnce && !tty) stdin.close(); },
    });
    attached = AbortSignal.any([conn.closed, detached]);
  } else {
    conn.input.resume();
  }
  try {
    if (stream) {
      for await (const record of b.output.attach(id, { logs, signal: attached })) {
        if (wanted.has(record.stream)) conn.write(encode(record));
      }
    } else if (logs) {
      for await (const record of b.output.logs(id, { follow: false, signal: conn.closed })) {
        if (wanted.has(record.stream)) conn.write(encode(record));
      }
    }
  } finally {
    conn.end();
  }
}

export async function logsHandler(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const container = b.containers.get(ctx.params.id);
  assertLogsReadable(container.record.spec.personality);
  const stdout = queryBool(ctx.query, 'stdout');
  const stderr = queryBool(ctx.query, 'stderr');
  if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
  const tty = container.record.spec.process.tty;
  const tailText = ctx.query.get('tail');
  // As dockerd: "all" or a negative count (dockerode and testcontainers send -1) means every line.
  const tailCount = tailText && tailText !== 'all' ? queryInt(ctx.query, 'tail') : undefined;
  const tail = tailCount !== undefined && tailCount >= 0 ? tailCount : undefined;
  const closed = new AbortController();
  ctx.res.on('close', () => closed.abort());
  const records = b.output.logs(container.record.id, {
    follow: queryBool(ctx.query, 'follow'),
    // 0 means unset for logs.
    sinceNs: queryUnixNanos(ctx.query, 'since') || undefined,
    untilNs: queryUnixNanos(ctx.query, 'until') || undefined,
    tail,
    signal: closed.signal,
  });
  ctx.res.writeHead(200, { 'Content-Type': streamType(tty, ctx.version) });
  ctx.res.flushHeaders();
  const encode = encoder(tty, queryBool(ctx.query, 'timestamps'));
  for await (const record of records) {
    if ((record.stream === 'stdout' && stdout) || (record.stream === 'stderr' && stderr)) ctx.res.write(encode(record));
  }
  ctx.res.end();
}

function nsToRfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString().slice(0, 19);
  return `${iso}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}
