// Both tether channels over one byte stream (vSphere: the VM's serial port, carried over TCP by ESXi):
// frames whose type has LOG_FRAME_FLAG are the log port's — appended, flag removed, to the container's
// log file in the very format QEMU's file backend writes (logfile.ts reads both alike) — and the rest
// is the control channel, handed to a TetherClient as a stream of its own.
import { closeSync, openSync, writeSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder, FrameType, LOG_FRAME_FLAG, type Frame } from './frames.ts';
import type { TetherHello } from './config.ts';

/** Log frames held while the line's log file is not known yet (a VM re-connecting before its adoption). */
const HELD_LOG_LIMIT = 8 << 20;

export class SharedLine {
  /** The control channel: what a TetherClient reads and writes. */
  readonly control: Duplex;
  readonly #line: Duplex;
  /** Guest → host types, with or without the log flag; anything else is a cut frame's remains. */
  readonly #decoder = new FrameDecoder((type) => (type & ~LOG_FRAME_FLAG) >= FrameType.Hello && (type & ~LOG_FRAME_FLAG) <= FrameType.Credit);
  #logFd: number | undefined;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #closed = false;
  #onHello?: (hello: TetherHello) => void;

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

  /** From now on log frames are appended to this file (held ones first). */
  logTo(path: string): void {
    if (this.#closed || this.#logFd !== undefined) return;
    this.#logFd = openSync(path, 'a', 0o600);
    for (const b of this.#held) writeSync(this.#logFd, b);
    this.#held = [];
    this.#heldBytes = 0;
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
        this.#log(encodeFrame(frame.type & ~LOG_FRAME_FLAG, frame.session, frame.payload));
        continue;
      }
      if (frame.type === FrameType.Hello) {
        try {
          this.#onHello?.(JSON.parse(frame.payload.toString('utf8')) as TetherHello);
        } catch { /* not JSON: the client reports it */ }
      }
      this.control.push(encodeFrame(frame.type, frame.session, frame.payload));
    }
  }

  /** Each frame is one write: a reader never sees half of one (and the engine writes the file alone). */
  #log(frame: Buffer): void {
    if (this.#logFd !== undefined) {
      writeSync(this.#logFd, frame);
      return;
    }
    if (this.#heldBytes + frame.length > HELD_LOG_LIMIT) return;
    this.#held.push(frame);
    this.#heldBytes += frame.length;
  }
}
