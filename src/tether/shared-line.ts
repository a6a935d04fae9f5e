// Both tether channels over one byte stream (vSphere: the VM's serial port, carried over TCP by ESXi):
// frames whose type has LOG_FRAME_FLAG are the log port's — appended, flag removed, to the container's
// log file in the very format QEMU's file backend writes (logfile.ts reads both alike) — and the rest
// is the control channel, handed to a TetherClient as a stream of its own.
//
// A journaled tether (its HELLO names its boot) keeps its log for replay, since the line drops what the
// guest writes while no engine listens: after each HELLO it sends no log frame until RESUME says how
// much of each stream the log file holds; the engine answers each HELLO so, appends what follows, and
// acknowledges the EXIT (or ERROR) once it is on disk (EXIT_ACK). docs/tether-protocol.md.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder, FrameType, LOG_FRAME_FLAG, type Frame } from './frames.ts';
import type { TetherHello, TetherResume } from './config.ts';
import { bootPosition, gapOf, readLogRecords, recordedEnd, toRecord, trimTornTail, type BootPosition, type LogRecord, type RecordedEnd } from './logfile.ts';

/** Log frames held while the line's log file is not known yet (a VM re-connecting before its adoption). */
const HELD_LOG_LIMIT = 8 << 20;

/**
 * Guest → host types, with or without the log flag (LEASE only unflagged, GAP only flagged); anything
 * else is a cut frame's remains.
 */
export function guestType(flagged: number): boolean {
  const logged = (flagged & LOG_FRAME_FLAG) !== 0;
  const type = flagged & ~LOG_FRAME_FLAG;
  return (type >= FrameType.Hello && type <= FrameType.Credit) || (type === FrameType.Gap && logged) || (type === FrameType.Lease && !logged);
}

export class SharedLine {
  /** The control channel: what a TetherClient reads and writes. */
  readonly control: Duplex;
  readonly #line: Duplex;
  readonly #decoder = new FrameDecoder(guestType);
  #logPath: string | undefined;
  #logFd: number | undefined;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #closed = false;
  #onHello?: (hello: TetherHello) => void;
  /** Undefined until the first HELLO says whether the tether journals its log. */
  #journaled: boolean | undefined;
  /** The latest HELLO's boot and number (journaled). */
  #boot = '';
  #seq = 0;
  /** Journaled: log frames are appended (a RESUME answered the latest HELLO); before, they are dropped. */
  #accepting = false;
  /** What the log file holds of #position.boot, kept up to date as frames are appended. */
  #position: (BootPosition & { boot: string }) | undefined;
  #endListeners: Array<(end: RecordedEnd) => void> = [];

  constructor(line: Duplex) {
    this.#line = line;
    this.control = new Duplex({
      read() {},
      write: (chunk: Buffer, _enc, done) => {
        if (this.#closed) return done();
        line.write(chunk, done);
      },
      destroy: (err, done) => {
        this.close();
        done(err);
      },
    });
    line.on('data', (chunk: Buffer) => this.#receive(chunk));
    line.on('error', () => this.close());
    line.on('close', () => this.close());
    line.on('end', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called with every HELLO the tether sends (before the control channel's reader gets it too). */
  onHello(listener: (hello: TetherHello) => void): void {
    this.#onHello = listener;
  }

  /** Asks whoever is on the line who it is (the tether answers HELLO); nothing else is sent before. */
  askHello(): void {
    if (!this.#closed) this.#line.write(encodeFrame(FrameType.HelloReq, 0));
  }

  /** Whether the tether journals its log (and replays it on RESUME); known from its first HELLO on. */
  get journaled(): boolean {
    return this.#journaled === true;
  }

  /**
   * A journaled line: called once with how the process ended, when its EXIT or ERROR is on disk in the
   * log (appended and synced, or found there already): what the log holds of its output is complete.
   */
  onEnd(listener: (end: RecordedEnd) => void): void {
    const end = this.#position?.end;
    if (end) queueMicrotask(() => listener(end));
    else this.#endListeners.push(listener);
  }

  /**
   * From now on log frames are appended to this file: held ones first, or for a journaled tether what
   * follows its RESUME. A torn last frame (an engine killed mid-write) is cut off first.
   */
  async logTo(path: string): Promise<void> {
    if (this.#closed || this.#logPath !== undefined) return;
    this.#logPath = path;
    const { records } = await trimTornTail(path);
    if (this.#closed) return;
    this.#logFd = openSync(path, 'a', 0o600);
    if (!this.#journaled) {
      for (const b of this.#held) writeSync(this.#logFd, b);
    }
    this.#held = [];
    this.#heldBytes = 0;
    if (this.#journaled) {
      this.#position = { boot: this.#boot, ...bootPosition(records, this.#boot) };
      await this.#answerHello();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#logFd !== undefined) closeSync(this.#logFd);
    this.#logFd = undefined;
    this.#line.destroy();
    this.control.push(null);
    this.control.destroy();
  }

  #receive(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch {
      // A corrupt length: what follows cannot be framed; the line is useless.
      this.close();
      return;
    }
    for (const frame of frames) {
      if (frame.type & LOG_FRAME_FLAG) {
        const type = frame.type & ~LOG_FRAME_FLAG;
        this.#log(encodeFrame(type, frame.session, frame.payload), toRecord({ ...frame, type }, 0));
        continue;
      }
      if (frame.type === FrameType.Hello) {
        let hello: TetherHello | undefined;
        try {
          hello = JSON.parse(frame.payload.toString('utf8')) as TetherHello;
        } catch { /* not JSON: the client reports it */ }
        if (hello) {
          this.#helloSeen(hello);
          this.#onHello?.(hello);
        }
      }
      this.control.push(encodeFrame(frame.type, frame.session, frame.payload));
    }
  }

  /** A journaled tether's log is paused from its HELLO until the RESUME that answers it. */
  #helloSeen(hello: TetherHello): void {
    if (this.#journaled === undefined) {
      this.#journaled = typeof hello.boot === 'string' && hello.boot !== '';
      // Frames from before the HELLO may follow a stretch the line lost: the journal resends them.
      if (this.#journaled) {
        this.#held = [];
        this.#heldBytes = 0;
      }
    }
    if (!this.#journaled) return;
    this.#accepting = false;
    this.#boot = typeof hello.boot === 'string' ? hello.boot : '';
    this.#seq = typeof hello.seq === 'number' ? hello.seq : 0;
    if (this.#logFd !== undefined) void this.#answerHello().catch(() => this.close());
  }

  /** RESUME for the latest HELLO, from what the log holds of its boot (read again for a new boot). */
  async #answerHello(): Promise<void> {
    const seq = this.#seq;
    const boot = this.#boot;
    if (this.#position?.boot !== boot) {
      const { records } = await readLogRecords(this.#logPath!, 0);
      if (this.#closed || this.#seq !== seq) return; // a newer HELLO is answered instead
      this.#position = { boot, ...bootPosition(records, boot) };
    }
    if (this.#closed || this.#seq !== seq) return;
    const p = this.#position;
    const resume: TetherResume = { seq, started: p.started, stdout: p.stdout, stderr: p.stderr, exited: p.end !== undefined };
    this.#accepting = true;
    this.#line.write(encodeFrame(FrameType.Resume, 0, Buffer.from(JSON.stringify(resume))));
    if (p.end) this.#ended(p.end);
  }

  /** Appends a journaled tether's log frame and follows what the log now holds of its boot. */
  #append(frame: Buffer, record: LogRecord | undefined): void {
    const p = this.#position;
    if (!this.#accepting || this.#logFd === undefined || !p) return;
    writeSync(this.#logFd, frame);
    if (!record || record.session !== 0) return;
    switch (record.kind) {
      case 'started':
        Object.assign(p, { started: true, stdout: 0, stderr: 0, end: undefined });
        break;
      case 'stdout':
      case 'stderr':
        p[record.kind] += record.data.length;
        break;
      case 'gap': {
        const gap = gapOf(record);
        if (gap) p[gap.stream] += gap.bytes;
        break;
      }
      case 'exit':
      case 'error': {
        // On disk before the tether may power off.
        fdatasyncSync(this.#logFd);
        let end: RecordedEnd;
        try {
          end = recordedEnd(record);
        } catch {
          end = { code: 137, error: 'the tether reported an unreadable exit' };
        }
        p.end = end;
        this.#line.write(encodeFrame(FrameType.ExitAck, 0));
        this.#ended(end);
        break;
      }
    }
  }

  #ended(end: RecordedEnd): void {
    for (const listener of this.#endListeners.splice(0)) listener(end);
  }

  /** Each frame is one write: a reader never sees half of one (and the engine writes the file alone). */
  #log(frame: Buffer, record?: LogRecord): void {
    if (this.#journaled) {
      this.#append(frame, record);
      return;
    }
    if (this.#logFd !== undefined) {
      writeSync(this.#logFd, frame);
      return;
    }
    if (this.#heldBytes + frame.length > HELD_LOG_LIMIT) return;
    this.#held.push(frame);
    this.#heldBytes += frame.length;
  }
}
