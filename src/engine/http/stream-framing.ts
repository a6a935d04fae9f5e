// Docker's multiplexed stream: each chunk gets an 8-byte header — stream id (0 stdin, 1 stdout,
// 2 stderr), three zero bytes, u32 big-endian length. Tty streams are sent raw instead.
export const STDOUT = 1;
export const STDERR = 2;

export function multiplexFrame(stream: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
