// Starts a VCH's admin page next to its engine (`vch serve --admin-listen HOST:PORT`).
import { join, resolve } from 'node:path';
import { LogRing, teeStderr } from './log-ring.ts';
import { loadAdminPassword } from './auth.ts';
import { adminTls } from './tls.ts';
import { startAdminServer, type RunningAdminServer } from './server.ts';
import type { VchView } from './status.ts';

export type { VchView } from './status.ts';
export { LogRing } from './log-ring.ts';

/** Keeps a copy of the engine's own output from now on, for the admin page's live log. */
export function captureEngineLog(): LogRing {
  const ring = new LogRing();
  teeStderr(ring);
  return ring;
}

export function parseListen(flag: string, listen: string): { host: string; port: number } {
  const match = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match || Number(match[3]) > 65535) throw new Error(`${flag} wants HOST:PORT, got ${listen}`);
  return { host: match[1] ?? match[2], port: Number(match[3]) };
}

export async function startVchAdmin(options: {
  listen: string;
  passwordFile?: string;
  view: VchView;
  ring: LogRing;
  log: (line: string) => void;
}): Promise<RunningAdminServer> {
  const { host, port } = parseListen('--admin-listen', options.listen);
  const { password } = loadAdminPassword(join(options.view.datastore, 'admin.password'), options.passwordFile ? resolve(options.passwordFile) : undefined);
  const tls = await adminTls(options.view.datastore, host);
  return startAdminServer({ view: options.view, host, port, tls, password, ring: options.ring, log: options.log });
}
