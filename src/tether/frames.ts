// Framing shared by both virtio-serial ports (docs/tether-protocol.md):
// u8 type | u32 session | u32 length (big-endian) | payload[length], length ≤ 1 MiB.

export const FrameType = {
  // host → guest
  HelloReq: 0x10,
  Config: 0x11,
  Stdin: 0x12,
  StdinClose: 0x13,
  Signal: 0x14,
  Resize: 0x15,
  Exec: 0x16,
  PowerOff: 0x17,
  Hosts: 0x18,
  // file requests (docker top, docker cp): see docs/tether-protocol.md
  Top: 0x19,
  Stat: 0x1a,
  ArchiveGet: 0x1b,
  ArchivePut: 0x1c,
  HostData: 0x1d,
  HostCredit: 0x1e,
  Cancel: 0x1f,
  Clock: 0x20,
  // a running container joins / leaves a network (answered like a file request: RESULT or ERROR)
  NetAttach: 0x21,
  NetDetach: 0x22,
  Warm: 0x23,
  // the guest's CPU times and memory in use, for docker stats (answered with RESULT or ERROR)
  Usage: 0x24,
  // replay after an engine restart on vSphere's serial line (docs/tether-protocol.md)
  Resume: 0x28,
  ExitAck: 0x29,
  // guest → host
  Hello: 0x01,
  Started: 0x02,
  Stdout: 0x03,
  Stderr: 0x04,
  Exit: 0x05,
  Error: 0x06,
  Diag: 0x07,
  Result: 0x08,
  Data: 0x09,
  Credit: 0x0a,
  // log only, vSphere's serial line: output the tether's journal no longer held when it was due
  Gap: 0x0e,
  // the public network's address changed: JSON {"address": "10.1.2.3/24" | ""}
  Lease: 0x0b,
} as const;

/**
 * On a line both channels share (vSphere's serial port), the tether ORs this into the type of every
 * frame meant for the log port; the host takes it off and appends the frame to the log file.
 */
export const LOG_FRAME_FLAG = 0x80;

/** Bytes either side may send on a file request before the first CREDIT (the tether's transferWindow). */
export const TRANSFER_WINDOW = 256 * 1024;

export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_HEADER_SIZE = 9;
export const MAX_FRAME_PAYLOAD = 1 << 20;

export interface Frame {
  type: number;
  session: number;
  payload: Buffer;
}

export class FrameFormatError extends Error {}

export function encodeFrame(type: number, session: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new FrameFormatError(`frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(session >>> 0, 1);
  frame.writeUInt32BE(payload.length, 5);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/** Turns a byte stream, split anywhere, into frames. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #validType?: (type: number) => boolean;
  /** Bytes skipped to find a frame (resync only). */
  skipped = 0;

  /**
   * `validType`: the stream can lose bytes (a serial line), so a header whose type is not valid or
   * whose length is too large is misalignment: skipped a byte at a time instead of failing.
   */
  constructor(validType?: (type: number) => boolean) {
    this.#validType = validType;
  }

  /** Bytes received that do not form a complete frame yet. */
  get pending(): number {
    return this.#buffered;
  }

  /** Adds bytes and returns the frames they completed. Throws FrameFormatError on a corrupt length. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.#buffered >= FRAME_HEADER_SIZE) {
      const head = this.#peek(FRAME_HEADER_SIZE);
      const length = head.readUInt32BE(5);
      if (this.#validType && (length > MAX_FRAME_PAYLOAD || !this.#validType(head.readUInt8(0)))) {
        this.#take(1);
        this.skipped++;
        continue;
      }
      if (length > MAX_FRAME_PAYLOAD) {
        this.reset();
        throw new FrameFormatError(`frame length ${length} exceeds ${MAX_FRAME_PAYLOAD}`);
      }
      const total = FRAME_HEADER_SIZE + length;
      if (this.#buffered < total) break;
      const bytes = this.#take(total);
      frames.push({
        type: bytes.readUInt8(0),
        session: bytes.readUInt32BE(1),
        payload: bytes.subarray(FRAME_HEADER_SIZE),
      });
    }
    return frames;
  }

  /** Drops a partial frame (e.g. after the peer reconnected). */
  reset(): void {
    this.#chunks = [];
    this.#buffered = 0;
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0].length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0];
  }

  #take(n: number): Buffer {
    const first = this.#peek(n);
    const taken = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return taken;
  }
}
