// Host end of the tether's control port, over any byte stream (a unix socket to QEMU here, a network
// serial port on vSphere). The main process's output is not here: it goes to the log port (logfile.ts).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ContainerConfig, ExecConfig, TetherHello } from './config.ts';
import { encodeFrame, FrameDecoder, FrameType, type Frame } from './frames.ts';

/** The process could not start (ERROR frame), or the conversation failed. */
export class TetherError extends Error {
  /** Docker's exit code: 127 not found, 126 not executable, 125 anything else. */
  readonly code: number;
  readonly session: number;
  /** true: the tether sent ERROR (the process could not start); false: timeout or lost connection. */
  readonly reportedByGuest: boolean;
  /** File requests: what kind of failure (NotFound, InvalidParameter, Conflict, System). */
  readonly kind?: string;
  constructor(message: string, code: number, session: number, reportedByGuest: boolean, kind?: string) {
    super(message);
    this.name = 'TetherError';
    this.code = code;
    this.session = session;
    this.reportedByGuest = reportedByGuest;
    this.kind = kind;
  }
}

export interface OutputEvent {
  session: number;
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface ExitEvent {
  session: number;
  code: number;
  /** Session 0: the guest's steps of the container's end, "run 40,drain 0,kill 3" (ms each). */
  steps?: string;
}

export interface StartedProcess {
  pid: number;
  /** Session 0: the guest's steps from CONFIG to the process, "name ms" comma-separated (timings only). */
  steps?: string;
  /** Session 0 with a public network: its leased address by then ("10.1.2.3/24"). */
  publicAddress?: string;
}

/** Tar bytes of a file request (ARCHIVE_GET); an empty chunk ends the stream. */
export interface DataEvent {
  session: number;
  data: Buffer;
}

/** The tether took `bytes` more of a file request's DATA (ARCHIVE_PUT): the host may send as many more. */
export interface CreditEvent {
  session: number;
  bytes: number;
}

export interface TetherClientEvents {
  output: [OutputEvent];
  exit: [ExitEvent];
  diag: [string];
  data: [DataEvent];
  credit: [CreditEvent];
  /** An ERROR no start or request was waiting for: a file transfer failed midway. */
  failure: [TetherError];
  /** The public network's address changed ("" : the lease is gone). */
  lease: [string];
  /** The stream ended; pending requests were rejected. */
  close: [];
}

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** Code for failures of the conversation itself (not the container's): Docker's generic 125. */
const TRANSPORT_FAILURE = 125;

export class TetherClient extends EventEmitter<TetherClientEvents> {
  readonly #stream: Duplex;
  readonly #decoder = new FrameDecoder();
  #hellos: Pending<TetherHello>[] = [];
  readonly #starts = new Map<number, Pending<StartedProcess>>();
  readonly #requests = new Map<number, Pending<Buffer>>();
  #closed = false;

  constructor(stream: Duplex) {
    super();
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.on('error', () => this.#close());
    stream.on('close', () => this.#close());
    stream.on('end', () => this.#close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Has a tether that waits for its CONFIG run the kernel paths a container start takes once, on
   * scratch mounts it removes again (WARM); resolves with the HELLO it answers with when done.
   */
  warm(timeoutMs: number): Promise<TetherHello> {
    return this.#untilHello(FrameType.Warm, timeoutMs, `no HELLO after WARM within ${timeoutMs} ms`);
  }

  /** Asks the tether for its state; resolves once it answers (it answers only after booting). */
  hello(timeoutMs: number): Promise<TetherHello> {
    return this.#untilHello(FrameType.HelloReq, timeoutMs, `no HELLO from the tether within ${timeoutMs} ms`);
  }

  /** Sends a frame the tether answers with HELLO, and waits for that answer. */
  #untilHello(type: number, timeoutMs: number, timeoutMessage: string): Promise<TetherHello> {
    return new Promise<TetherHello>((resolve, reject) => {
      const pending: Pending<TetherHello> = {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        this.#hellos = this.#hellos.filter((p) => p !== pending);
        reject(new TetherError(timeoutMessage, TRANSPORT_FAILURE, 0, false));
      }, timeoutMs);
      this.#hellos.push(pending);
      this.#send(type, 0);
    });
  }

  /** Sends CONFIG; resolves on STARTED, rejects with a TetherError on ERROR. */
  configure(cfg: ContainerConfig): Promise<StartedProcess> {
    return this.#start(0, FrameType.Config, cfg);
  }

  /** Starts exec session `session` (≥ 1, chosen by the caller); its output arrives as 'output' events. */
  exec(session: number, cfg: ExecConfig): Promise<StartedProcess> {
    if (!Number.isInteger(session) || session < 1) throw new RangeError('exec sessions are numbered from 1');
    return this.#start(session, FrameType.Exec, cfg);
  }

  stdin(session: number, data: Buffer): void {
    // Keep each frame well under the 1 MiB limit.
    for (let at = 0; at < data.length; at += 64 * 1024) {
      this.#send(FrameType.Stdin, session, data.subarray(at, at + 64 * 1024));
    }
  }

  closeStdin(session: number): void {
    this.#send(FrameType.StdinClose, session);
  }

  signal(session: number, signo: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(signo);
    this.#send(FrameType.Signal, session, payload);
  }

  resize(session: number, rows: number, cols: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt16BE(rows, 0);
    payload.writeUInt16BE(cols, 2);
    this.#send(FrameType.Resize, session, payload);
  }

  /** Replaces the container's /etc/hosts with these lines (no reply). */
  hosts(lines: string[]): void {
    this.#send(FrameType.Hosts, 0, Buffer.from(JSON.stringify(lines)));
  }

  /**
   * Sends a file request (TOP, STAT, ARCHIVE_GET, ARCHIVE_PUT) on `session` (≥ 1, unique among the
   * VM's sessions); resolves with the RESULT payload, rejects with a TetherError (its `kind` set) on ERROR.
   */
  request(session: number, type: number, body?: object): Promise<Buffer> {
    if (!Number.isInteger(session) || session < 1) throw new RangeError('file requests are numbered from 1');
    if (this.#closed) return Promise.reject(new TetherError('the connection to the tether closed', TRANSPORT_FAILURE, session, false));
    if (this.#requests.has(session) || this.#starts.has(session)) {
      return Promise.reject(new TetherError(`session ${session} is in use`, TRANSPORT_FAILURE, session, false));
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.#requests.set(session, { resolve, reject });
      this.#send(type, session, body ? Buffer.from(JSON.stringify(body)) : undefined);
    });
  }

  /** Tar bytes for an ARCHIVE_PUT (within the tether's credit); an empty chunk ends the stream. */
  data(session: number, chunk: Buffer): void {
    this.#send(FrameType.HostData, session, chunk);
  }

  /** Lets the tether send `bytes` more DATA on an ARCHIVE_GET. */
  credit(session: number, bytes: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(bytes);
    this.#send(FrameType.HostCredit, session, payload);
  }

  /** Abandons a file request: the tether stops its helper and sends nothing more for it. */
  cancel(session: number): void {
    this.#send(FrameType.Cancel, session);
  }

  /** Sets the guest's wall clock (unix ms), e.g. after a pause froze it (no reply). */
  clock(unixMs: number): void {
    const payload = Buffer.alloc(8);
    payload.writeBigInt64BE(BigInt(Math.round(unixMs)));
    this.#send(FrameType.Clock, 0, payload);
  }

  /** Syncs and powers the VM off at once (no EXIT follows). */
  powerOff(): void {
    this.#send(FrameType.PowerOff, 0);
  }

  /** Closes the stream; the tether keeps running and waits for the next host. */
  close(): void {
    this.#stream.destroy();
    this.#close();
  }

  #start(session: number, type: number, body: object): Promise<StartedProcess> {
    if (this.#starts.has(session)) {
      return Promise.reject(new TetherError(`session ${session} is already starting`, TRANSPORT_FAILURE, session, false));
    }
    return new Promise<StartedProcess>((resolve, reject) => {
      this.#starts.set(session, { resolve, reject });
      this.#send(type, session, Buffer.from(JSON.stringify(body)));
    });
  }

  #send(type: number, session: number, payload?: Buffer): void {
    if (this.#closed) return;
    this.#stream.write(encodeFrame(type, session, payload));
  }

  #receive(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.emit('diag', `host: ${(err as Error).message}`);
      return;
    }
    for (const frame of frames) this.#dispatch(frame);
  }

  #dispatch({ type, session, payload }: Frame): void {
    switch (type) {
      case FrameType.Hello: {
        const hello = parseJson<TetherHello>(payload);
        for (const pending of this.#hellos.splice(0)) pending.resolve(hello);
        break;
      }
      case FrameType.Started: {
        const started = parseJson<StartedProcess>(payload);
        this.#settle(session)?.resolve({
          pid: started.pid,
          ...(typeof started.steps === 'string' ? { steps: started.steps } : {}),
          ...(typeof started.publicAddress === 'string' ? { publicAddress: started.publicAddress } : {}),
        });
        break;
      }
      case FrameType.Error: {
        const { message, code, kind } = parseJson<{ message: string; code: number; kind?: string }>(payload);
        const error = new TetherError(message, code, session, true, kind);
        const start = this.#settle(session);
        const request = this.#requests.get(session);
        this.#requests.delete(session);
        if (start) start.reject(error);
        else if (request) request.reject(error);
        else this.emit('failure', error);
        break;
      }
      case FrameType.Result: {
        const request = this.#requests.get(session);
        this.#requests.delete(session);
        request?.resolve(payload);
        break;
      }
      case FrameType.Data:
        this.emit('data', { session, data: payload });
        break;
      case FrameType.Credit:
        this.emit('credit', { session, bytes: payload.readUInt32BE(0) });
        break;
      case FrameType.Stdout:
      case FrameType.Stderr:
        this.emit('output', { session, stream: type === FrameType.Stdout ? 'stdout' : 'stderr', data: payload });
        break;
      case FrameType.Exit:
        {
          const exit = parseJson<{ code: number; steps?: string }>(payload);
          this.emit('exit', { session, code: exit.code, ...(exit.steps ? { steps: exit.steps } : {}) });
        }
        break;
      case FrameType.Lease:
        this.emit('lease', String(parseJson<{ address?: string }>(payload).address ?? ''));
        break;
      case FrameType.Diag:
        this.emit('diag', payload.toString('utf8'));
        break;
      default:
        this.emit('diag', `host: unknown frame type 0x${type.toString(16)} from the tether`);
    }
  }

  #settle(session: number): Pending<StartedProcess> | undefined {
    const pending = this.#starts.get(session);
    this.#starts.delete(session);
    return pending;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const gone = () => new TetherError('the connection to the tether closed', TRANSPORT_FAILURE, 0, false);
    for (const pending of this.#hellos.splice(0)) pending.reject(gone());
    for (const pending of this.#starts.values()) pending.reject(gone());
    this.#starts.clear();
    for (const pending of this.#requests.values()) pending.reject(gone());
    this.#requests.clear();
    this.emit('close');
  }
}

function parseJson<T>(payload: Buffer): T {
  return JSON.parse(payload.toString('utf8')) as T;
}
