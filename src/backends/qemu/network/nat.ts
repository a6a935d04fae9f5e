// Outbound NAT for a network: one MASQUERADE rule for traffic from the network's subnet leaving by
// any other interface. Each rule carries a comment naming its VCH and network, so only our rules are
// ever matched, listed or deleted; nothing else of the host's firewall is touched. IP forwarding is
// a host-wide switch and is left as the host has it (reported by forwardingEnabled()).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function natComment(prefix: string, networkId: string): string {
  return `bonneville:${prefix}:${networkId.slice(0, 12)}`;
}

function ruleArgs(subnet: string, bridge: string, comment: string): string[] {
  return ['-t', 'nat', 'POSTROUTING', '-s', subnet, '!', '-o', bridge, '-m', 'comment', '--comment', comment, '-j', 'MASQUERADE'];
}

function withAction(action: string, args: string[]): string[] {
  // ruleArgs puts the table first and the chain second; the action goes between them.
  return [args[0], args[1], action, ...args.slice(2)];
}

/** Whether iptables can be used at all (missing binary, no nat table in a minimal kernel …). */
export async function natAvailable(): Promise<boolean> {
  try {
    await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
    return true;
  } catch {
    return false;
  }
}

export async function addMasquerade(subnet: string, bridge: string, comment: string): Promise<void> {
  const args = ruleArgs(subnet, bridge, comment);
  try {
    await run('iptables', withAction('-C', args));
    return; // there already (an adopted network)
  } catch {
    // not there yet
  }
  await run('iptables', withAction('-A', args));
}

/** Deletes every nat rule whose comment starts with `commentPrefix` (one network's, or a whole VCH's). */
export async function removeMasquerades(commentPrefix: string): Promise<void> {
  let listing: string;
  try {
    listing = (await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING'])).stdout;
  } catch {
    return;
  }
  for (const line of listing.split('\n')) {
    const match = /--comment "?([^"\s]+)"?/.exec(line);
    if (!line.startsWith('-A POSTROUTING ') || !match || !match[1].startsWith(commentPrefix)) continue;
    // "-A POSTROUTING <spec>" → "-D POSTROUTING <spec>"; the spec's words contain no spaces or quotes of ours.
    const spec = line.slice('-A POSTROUTING '.length).replaceAll('"', '').split(' ');
    await run('iptables', ['-t', 'nat', '-D', 'POSTROUTING', ...spec]).catch(() => undefined);
  }
}

/** The comments of the nat rules that start with `commentPrefix`. */
export async function listNatComments(commentPrefix: string): Promise<string[]> {
  try {
    const { stdout } = await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
    return [...stdout.matchAll(/--comment "?([^"\s]+)"?/g)].map((m) => m[1]).filter((c) => c.startsWith(commentPrefix));
  } catch {
    return [];
  }
}

export function forwardingEnabled(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
