// An exec session over the tether's control channel: its output and exit arrive as events tagged
// with the session number this VM handed out.
import type { ExecProcessSpec, ExecSession } from '../../portlayer/backend.ts';
import { ProcessStartError } from '../../portlayer/backend.ts';
import { TetherError } from '../../tether/client.ts';
import type { ExitEvent, OutputEvent, TetherClient } from '../../tether/client.ts';

type Chunk = { stream: 'stdout' | 'stderr'; data: Buffer };

export async function startExecSession(tether: TetherClient, session: number, spec: ExecProcessSpec): Promise<ExecSession> {
  // Listen before starting: output may arrive right behind STARTED.
  const queued: Chunk[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => { resolveExit = resolve; });
  const onOutput = (e: OutputEvent) => {
    if (e.session !== session) return;
    queued.push({ stream: e.stream, data: e.data });
    wake?.();
  };
  const finish = (code: number) => {
    tether.off('output', onOutput);
    tether.off('exit', onExit);
    tether.off('close', onClose);
    done = true;
    resolveExit(code);
    wake?.();
  };
  const onExit = (e: ExitEvent) => {
    if (e.session === session) finish(e.code);
  };
  // The VM went away under the session: it ended as if killed.
  const onClose = () => finish(137);
  tether.on('output', onOutput);
  tether.on('exit', onExit);
  tether.on('close', onClose);
  let pid: number;
  try {
    ({ pid } = await tether.exec(session, {
      cmd: spec.argv, env: spec.env, workingDir: spec.workingDir, user: spec.user,
      tty: spec.tty, openStdin: spec.openStdin, rows: spec.rows ?? 24, cols: spec.cols ?? 80,
    }));
  } catch (err) {
    finish(err instanceof TetherError ? err.code : 126);
    if (err instanceof TetherError) throw new ProcessStartError(err.message, err.code);
    throw err;
  }
  async function* output(): AsyncIterable<Chunk> {
    for (;;) {
      while (queued.length) yield queued.shift()!;
      if (done) return;
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = undefined;
    }
  }
  return {
    pid,
    output: output(),
    stdin: (data) => tether.stdin(session, data),
    closeStdin: () => tether.closeStdin(session),
    resize: (rows, cols) => tether.resize(session, rows, cols),
    signal: (signo) => tether.signal(session, signo),
    exited,
  };
}
