// A websocket upgrade as a HijackedStream: what attach/ws (and later consoles) serve, with each
// binary or text message from the client as input bytes and each write a binary message.
import { PassThrough } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RequestContext } from './router.ts';
import type { HijackedStream } from './hijack.ts';
import { invalid } from '../../portlayer/errors.ts';

const upgrades = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

export function acceptWebsocket(ctx: RequestContext): Promise<HijackedStream> {
  const upgrade = ctx.upgrade;
  if (!upgrade || (ctx.req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw invalid('this endpoint speaks websocket: send an Upgrade: websocket request');
  }
  return new Promise((resolve) => {
    upgrades.handleUpgrade(ctx.req, upgrade.socket, upgrade.head, (socket) => {
      const closed = new AbortController();
      const input = new PassThrough();
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        input.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
      });
      socket.on('close', () => { input.end(); closed.abort(); });
      socket.on('error', () => closed.abort());
      resolve({
        input,
        write: (data) => { if (socket.readyState === socket.OPEN) socket.send(data); },
        end: () => socket.close(1000),
        closed: closed.signal,
      });
    });
  });
}
