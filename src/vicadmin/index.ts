// A VCH's admin page next to its engine (`vch serve --admin-listen HOST:PORT`): prepared before the
// engine starts (the flags and the password: a mistake there stops `vch serve` before anything runs),
// started once the engine is up (by then the engine's server certificate, if any, exists to reuse).
import { join, resolve } from 'node:path';
import { LogRing, teeStderr } from './log-ring.ts';
import { loadAdminPassword } from './auth.ts';
import { adminTls, type GivenTls } from './tls.ts';
import { startAdminServer, type RunningAdminServer } from './server.ts';
import type { VchView } from './status.ts';

export type { VchView } from './status.ts';
export type { RunningAdminServer } from './server.ts';

export function parseListen(flag: string, listen: string): { host: string; port: number } {
  const match = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match || Number(match[3]) > 65535) throw new Error(`${flag} wants HOST:PORT, got ${listen}`);
  return { host: match[1] ?? match[2], port: Number(match[3]) };
}

export interface PreparedVchAdmin {
  start(view: VchView, log: (line: string) => void): Promise<RunningAdminServer>;
}

export async function prepareVchAdmin(options: { listen: string; passwordFile?: string; datastore: string; tls?: GivenTls }): Promise<PreparedVchAdmin> {
  const { host, port } = parseListen('--admin-listen', options.listen);
  const { password } = loadAdminPassword(join(options.datastore, 'admin.password'), options.passwordFile ? resolve(options.passwordFile) : undefined);
  // The engine's own output from here on, for the live log when stderr is not <datastore>/engine.log.
  const ring = new LogRing();
  teeStderr(ring);
  return {
    start: async (view, log) => startAdminServer({ view, host, port, tls: await adminTls(options.datastore, host, options.tls), password, ring, log }),
  };
}
