// Tail and follow a log file that another party appends to (the engine's log, a guest's serial
// console): the last part first, then whatever is appended, polled — the writer may be QEMU or a
// shell redirection, neither of which tells us when it writes.
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const POLL_MS = 500;
const READ_CHUNK = 256 * 1024;

/** The last `maxBytes` (or less) of a file, from a line start when it was cut; empty if missing. */
export async function readTail(path: string, maxBytes: number): Promise<{ text: string; end: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { text: '', end: 0 };
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const length = size - start;
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(buffer, read, length - read, start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    let text = buffer.subarray(0, read).toString('utf8');
    if (start > 0) {
      const newline = text.indexOf('\n');
      text = newline >= 0 ? text.slice(newline + 1) : text;
    }
    return { text, end: start + read };
  } finally {
    await handle.close();
  }
}

/**
 * Calls `onText` with what is appended to `path` after byte `from`, until `signal` aborts. A file
 * that shrank (truncated, replaced) is read again from its start.
 */
export function followFile(path: string, from: number, onText: (text: string) => void, signal: AbortSignal): void {
  let position = from;
  let decoder = new StringDecoder('utf8');
  let busy = false;
  let inode: number | undefined;
  const poll = async () => {
    if (busy || signal.aborted) return;
    busy = true;
    try {
      let size: number;
      let replaced: boolean;
      try {
        const st = await stat(path);
        size = st.size;
        // A new file under the name (rotated, recreated) is read from its start.
        replaced = inode !== undefined && st.ino !== inode;
        inode = st.ino;
      } catch {
        return; // not there (yet)
      }
      if (size < position || replaced) {
        position = 0;
        decoder = new StringDecoder('utf8');
      }
      if (size === position) return;
      const handle = await open(path, 'r');
      try {
        while (position < size && !signal.aborted) {
          const buffer = Buffer.alloc(Math.min(READ_CHUNK, size - position));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          const text = decoder.write(buffer.subarray(0, bytesRead));
          if (text) onText(text);
        }
      } finally {
        await handle.close();
      }
    } catch {
      // a read that failed is tried again at the next poll
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => { void poll(); }, POLL_MS);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
