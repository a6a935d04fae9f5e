// `docker cp` on a stopped container: the backend's host file tool (the tether binary's `files` mode,
// the very code a running guest uses) run on the host, chrooted into the container's mounted
// filesystem. Its protocol: stdout carries the stat JSON (and for `get`, a newline and the tar);
// failures exit 1 with {"kind","message"} on stderr.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, PathStat } from '../../../portlayer/backend.ts';
import { PortLayerError } from '../../../portlayer/errors.ts';
import type { ErrorKind } from '../../../portlayer/errors.ts';

const KINDS = new Set<string>(['NotFound', 'InvalidParameter', 'Conflict', 'System']);

interface Run {
  child: ChildProcess;
  /** Settles once the tool is gone: rejects with its error when it failed. */
  done: Promise<void>;
}

function run(tool: string, args: string[], stdin: 'pipe' | 'ignore'): Run {
  const child = spawn(tool, ['files', ...args], { stdio: [stdin, 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => { if (stderr.length < 64 * 1024) stderr += text; });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(toolError(stderr, code, signal))));
  });
  done.catch(() => undefined); // callers that stop caring (a client gone) must not crash the engine
  return { child, done };
}

function toolError(stderr: string, code: number | null, signal: NodeJS.Signals | null): Error {
  try {
    const { kind, message } = JSON.parse(stderr) as { kind: string; message: string };
    if (message) return new PortLayerError((KINDS.has(kind) ? kind : 'System') as ErrorKind, message);
  } catch { /* not the tool's JSON */ }
  return new PortLayerError('System', `file tool failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`);
}

export async function hostStat(tool: string, root: string, path: string): Promise<PathStat> {
  const { child, done } = run(tool, ['stat', '-root', root, '-path', path], 'ignore');
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  await done;
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as PathStat;
}

/** The stat and the tar; `done` settles when the tool has finished (the mount must outlive it). */
export async function hostRead(tool: string, root: string, path: string): Promise<{ stat: PathStat; tar: Readable; done: Promise<void> }> {
  const { child, done } = run(tool, ['get', '-root', root, '-path', path], 'ignore');
  const stdout = child.stdout!;
  let header: Buffer;
  try {
    header = await firstLine(stdout);
  } catch (err) {
    await done; // a tool that failed says why
    throw err;
  }
  // A reader that gives up early (the client went away) must not leave the tool blocked on its pipe.
  stdout.once('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return { stat: JSON.parse(header.toString('utf8')) as PathStat, tar: stdout, done };
}

export async function hostWrite(tool: string, root: string, path: string, tar: Readable, options: ArchiveWriteOptions & { user: string }): Promise<void> {
  const args = ['put', '-root', root, '-path', path];
  if (options.noOverwriteDirNonDir) args.push('-no-overwrite-dir-non-dir');
  if (options.copyUIDGID && options.user) args.push('-chown-user', options.user);
  const { child, done } = run(tool, args, 'pipe');
  child.stdout!.resume();
  // The tool may stop reading early to report a problem: its verdict is what counts, not the EPIPE,
  // and the rest of the upload is drained so that the request stays intact for the response.
  const stdin = child.stdin!;
  stdin.on('error', () => {
    tar.unpipe(stdin);
    tar.resume();
  });
  tar.pipe(stdin);
  await done;
}

/** Reads up to the first newline; what follows stays in the stream for the next reader. */
function firstLine(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(10);
      if (newline < 0) return;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.pause();
      stream.unshift(buffered.subarray(newline + 1));
      resolve(buffered.subarray(0, newline));
    };
    const onEnd = () => reject(new PortLayerError('System', 'file tool ended before its stat'));
    stream.on('data', onData);
    stream.once('end', onEnd);
  });
}
