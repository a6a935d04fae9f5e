// A container's /etc/hosts: localhost, the container itself, its peers on user-defined networks and
// `--add-host` entries. Peers are listed by container name, network aliases and short id, which is
// what Docker's embedded DNS answers for; here the file is the resolver (see service.ts).

export interface HostsInput {
  hostname: string;
  /** The primary network's address; none: the hostname maps to 127.0.1.1. */
  ownIp?: string;
  ownAliases: string[];
  peers: Array<{ ip: string; names: string[] }>;
  /** "name:ip" */
  extraHosts: string[];
}

export function hostsLines(input: HostsInput): string[] {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    input.ownIp ? `${input.ownIp}\t${[input.hostname, ...input.ownAliases].join(' ')}` : `127.0.1.1\t${input.hostname}`,
  ];
  const seen = new Set<string>([input.hostname, ...input.ownAliases]);
  for (const peer of input.peers) {
    // The first entry for a name wins in every resolver; later duplicates would only mislead readers.
    const names = peer.names.filter((n) => n && !seen.has(n));
    names.forEach((n) => seen.add(n));
    if (names.length > 0) lines.push(`${peer.ip}\t${names.join(' ')}`);
  }
  for (const entry of input.extraHosts) {
    const at = entry.indexOf(':');
    if (at > 0) lines.push(`${entry.slice(at + 1)}\t${entry.slice(0, at)}`);
  }
  return lines;
}
