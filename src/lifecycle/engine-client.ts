// Talking to a VCH's engine over its unix socket: is it up, what runs in it.
import { request } from 'node:http';

export function engineGet<T>(socket: string, path: string, timeoutMs = 10_000): Promise<T | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(undefined);
        try { resolve(JSON.parse(body) as T); } catch { resolve(body as T); }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Waits until the engine answers /version (with `version`, when given). */
export async function waitForEngine(socket: string, options: { version?: string; timeoutMs?: number; alive?: () => boolean } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  while (Date.now() < deadline) {
    const v = await engineGet<{ Version: string }>(socket, '/version', 2000);
    if (v && (!options.version || v.Version === options.version)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the engine did not answer on ${socket}${options.version ? ` as version ${options.version}` : ''}`);
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
}

export async function runningContainers(socket: string): Promise<ContainerSummary[] | undefined> {
  return engineGet<ContainerSummary[]>(socket, '/containers/json');
}
