// The few `ip` (iproute2) operations container networks need, run as commands: no netlink binding in
// Node, and each costs a few milliseconds next to a VM start.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LinkInfo {
  name: string;
  /** The bridge it is enslaved to, if any. */
  master?: string;
  up: boolean;
}

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args);
    return stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

export async function listLinks(): Promise<LinkInfo[]> {
  const raw = JSON.parse(await ip(['-j', 'link', 'show'])) as Array<{ ifname: string; master?: string; flags?: string[] }>;
  return raw.map((l) => ({ name: l.ifname, master: l.master, up: (l.flags ?? []).includes('UP') }));
}

/** IPv4 routes of the main table with a destination prefix ("192.0.2.0/24"); the default route is skipped. */
export async function routedSubnets(): Promise<string[]> {
  const raw = JSON.parse(await ip(['-j', '-4', 'route', 'show', 'table', 'main'])) as Array<{ dst: string }>;
  return raw.map((r) => r.dst).filter((d) => d !== 'default').map((d) => (d.includes('/') ? d : `${d}/32`));
}

export async function linkExists(name: string): Promise<boolean> {
  try {
    await run('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

export async function addBridge(name: string): Promise<void> {
  // No STP and no forwarding delay: a tap is usable the moment it joins.
  await ip(['link', 'add', 'name', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
}

/** Sets the address unless the interface has it already (an adopted bridge). */
export async function ensureAddress(dev: string, cidr: string): Promise<void> {
  const raw = JSON.parse(await ip(['-j', '-4', 'addr', 'show', 'dev', dev])) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  const has = raw.flatMap((l) => l.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === cidr);
  if (!has) await ip(['addr', 'add', cidr, 'dev', dev]);
}

export async function setUp(dev: string): Promise<void> {
  await ip(['link', 'set', 'dev', dev, 'up']);
}

/** A persistent tap QEMU opens by name, enslaved to the bridge and up. */
export async function addTap(name: string, bridge: string): Promise<void> {
  await ip(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  await ip(['link', 'set', 'dev', name, 'master', bridge, 'up']);
}

/** A persistent tap on no bridge (a standby VM's, until it is handed to a container). */
export async function addLooseTap(name: string): Promise<void> {
  await ip(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
}

/** Puts an existing tap on a bridge, up. */
export async function enslaveTap(name: string, bridge: string): Promise<void> {
  await ip(['link', 'set', 'dev', name, 'master', bridge, 'up']);
}

/** Deletes an interface; one already gone is fine. */
export async function deleteLink(name: string): Promise<void> {
  try {
    await run('ip', ['link', 'del', 'dev', name]);
  } catch {
    // not there (any more)
  }
}
