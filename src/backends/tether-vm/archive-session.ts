// `docker top` and `docker cp` through the tether: each request on a session number of its own, tar
// bytes as DATA frames under credit-based flow control (docs/tether-protocol.md), so that neither the
// engine nor the guest holds more than a window of a large file, however slow the other end.
import { Readable } from 'node:stream';
import type { ArchiveWriteOptions, GuestProcessList, PathStat } from '../../portlayer/backend.ts';
import { FrameType, TRANSFER_WINDOW } from '../../tether/frames.ts';
import type { CreditEvent, DataEvent, TetherClient, TetherError } from '../../tether/client.ts';
import { ask, portLayerError } from './tether-request.ts';

/** Largest DATA frame the engine sends (well under the 1 MiB frame limit). */
const CHUNK = 64 * 1024;

export function listProcesses(tether: TetherClient, session: number): Promise<GuestProcessList> {
  return ask<GuestProcessList>(tether, session, FrameType.Top);
}

export function statPath(tether: TetherClient, session: number, path: string): Promise<PathStat> {
  return ask<PathStat>(tether, session, FrameType.Stat, { path });
}

/**
 * ARCHIVE_GET: resolves with the stat (RESULT) and a stream of the tar. Bytes received are credited
 * back as the stream's reader takes them, so at most a window is in flight plus the stream's buffer.
 * Destroying the stream early cancels the request in the guest.
 */
export async function readArchive(tether: TetherClient, session: number, path: string): Promise<{ stat: PathStat; tar: Readable }> {
  let owed = 0;
  let finished = false;
  const stop = () => {
    finished = true;
    tether.off('data', onData);
    tether.off('failure', onFailure);
    tether.off('close', onClose);
  };
  const tar = new Readable({
    highWaterMark: TRANSFER_WINDOW,
    read() {
      if (owed > 0 && !finished) tether.credit(session, owed);
      owed = 0;
    },
    destroy(err, callback) {
      if (!finished) {
        stop();
        tether.cancel(session);
      }
      callback(err);
    },
  });
  // Listening before asking: DATA may arrive in the same read as the RESULT that precedes it.
  const onData = (e: DataEvent) => {
    if (e.session !== session) return;
    if (e.data.length === 0) {
      stop();
      tar.push(null);
    } else if (tar.push(e.data)) {
      tether.credit(session, e.data.length);
    } else {
      owed += e.data.length;
    }
  };
  const onFailure = (err: TetherError) => {
    if (err.session !== session) return;
    stop();
    tar.destroy(portLayerError(err));
  };
  const onClose = () => {
    stop();
    tar.destroy(new Error('the connection to the tether closed during the copy'));
  };
  tether.on('data', onData);
  tether.on('failure', onFailure);
  tether.on('close', onClose);
  let stat: PathStat;
  try {
    stat = await ask<PathStat>(tether, session, FrameType.ArchiveGet, { path });
  } catch (err) {
    stop();
    tar.destroy();
    throw err;
  }
  return { stat, tar };
}

/**
 * ARCHIVE_PUT: sends the tar within the tether's credit, then the end; settles with the tether's
 * verdict. A verdict before the end (say, the destination is not a directory) stops the sending.
 */
export async function writeArchive(tether: TetherClient, session: number, path: string, input: Readable, options: ArchiveWriteOptions): Promise<void> {
  let credit = TRANSFER_WINDOW;
  let wake: (() => void) | undefined;
  let settled = false;
  const onCredit = (e: CreditEvent) => {
    if (e.session !== session) return;
    credit += e.bytes;
    wake?.();
  };
  tether.on('credit', onCredit);
  const verdict = tether.request(session, FrameType.ArchivePut, { path, ...options });
  verdict.then(() => undefined, () => undefined).finally(() => {
    settled = true;
    wake?.();
  });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      // After an early verdict the rest is drained, not sent: leaving the loop would destroy the
      // input (an HTTP request that must stay intact for its response).
      for (let at = 0; at < chunk.length && !settled;) {
        while (credit <= 0 && !settled) await new Promise<void>((resolve) => { wake = resolve; });
        wake = undefined;
        if (settled) break;
        const n = Math.min(credit, CHUNK, chunk.length - at);
        tether.data(session, chunk.subarray(at, at + n));
        credit -= n;
        at += n;
      }
    }
    if (!settled) tether.data(session, Buffer.alloc(0));
  } catch (err) {
    // The client went away mid-upload: nothing half-written is worth keeping going for.
    if (!settled) tether.cancel(session);
    verdict.catch(() => undefined);
    throw err;
  } finally {
    tether.off('credit', onCredit);
  }
  try {
    await verdict;
  } catch (err) {
    throw portLayerError(err);
  }
}
