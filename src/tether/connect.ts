// Connecting to a QEMU chardev socket that may not exist yet (QEMU creates it a moment after spawn).
import net from 'node:net';

export interface ConnectOptions {
  /** Linux abstract socket namespace (QEMU `abstract=on`): no file, no sun_path length trouble. */
  abstract: boolean;
  timeoutMs: number;
  /** Delay between attempts. */
  retryMs?: number;
  signal?: AbortSignal;
}

/** Connects to a unix socket, retrying while it is missing or refusing, until the deadline. */
export async function connectUnixSocket(name: string, options: ConnectOptions): Promise<net.Socket> {
  const path = options.abstract ? `\0${name}` : name;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return await attempt(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 20));
  }
}

function attempt(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
