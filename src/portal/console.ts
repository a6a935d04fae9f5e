// The browser's exec console: a websocket to an exec session with a TTY on the engine. Client
// messages are JSON: {"type":"input","data":"…"} or {"type":"resize","cols":N,"rows":N}; the
// terminal's output comes back as binary frames.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DockerHost } from './docker-host.ts';

const server = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });

export function acceptConsole(req: IncomingMessage, socket: Duplex, head: Buffer, docker: DockerHost, containerId: string, cmd: string[]): void {
  server.handleUpgrade(req, socket, head, (ws) => void runConsole(ws, docker, containerId, cmd));
}

async function runConsole(ws: WebSocket, docker: DockerHost, containerId: string, cmd: string[]): Promise<void> {
  const early: Buffer[] = [];
  let size = { cols: 80, rows: 24 };
  ws.on('message', (raw: Buffer) => early.push(raw));
  let execId: string;
  let stream: Duplex;
  try {
    const exec = await docker.json('POST', `/containers/${containerId}/exec`, {
      AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Cmd: cmd, Env: ['TERM=xterm-256color'],
    });
    execId = exec.Id;
    stream = await docker.hijack(`/exec/${execId}/start`, { Detach: false, Tty: true });
  } catch (err) {
    ws.send(`\r\n[console: ${(err as Error).message}]\r\n`);
    ws.close(1011, 'exec failed');
    return;
  }
  const resize = (cols: number, rows: number) => {
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > 1000 || rows > 1000) return;
    size = { cols, rows };
    void docker.call('POST', `/exec/${execId}/resize?h=${rows}&w=${cols}`).catch(() => undefined);
  };
  const handle = (raw: Buffer) => {
    let msg: any;
    try { msg = JSON.parse(raw.toString('utf8')); } catch { return; }
    if (msg.type === 'input' && typeof msg.data === 'string') stream.write(msg.data);
    else if (msg.type === 'resize') resize(Number(msg.cols), Number(msg.rows));
  };
  ws.removeAllListeners('message');
  ws.on('message', handle);
  for (const m of early) handle(m);
  resize(size.cols, size.rows);
  let first = true;
  stream.on('data', (d: Buffer) => {
    // A resize sent before the engine made the exec's pty is lost: once output flows, the pty exists; size it again.
    if (first) { first = false; resize(size.cols, size.rows); }
    if (ws.readyState === ws.OPEN) ws.send(d);
  });
  stream.on('end', () => ws.close(1000, 'exited'));
  stream.on('error', () => ws.close(1011, 'stream error'));
  ws.on('close', () => stream.destroy());
}
