// The VCH's DNS resolver (dockerd's 127.0.0.11, VIC's VCH resolver): one UDP listener on each
// network's gateway address. Names of containers on that network (name, aliases, short id) are
// answered from the port layer's records; every other question is forwarded to the host's resolvers
// (or the VCH's --dns-server), so containers resolve outside names without a resolver of their own.
// An internal network gets no answers from outside, as it has no way out.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Answer } from 'dns-packet';

/** "10.0.0.1" or "10.0.0.1:5353". */
export interface Upstream {
  host: string;
  port: number;
}

export interface DnsResolverOptions {
  /** Where outside names are asked; empty: none (outside names fail with SERVFAIL). */
  upstreams: Upstream[];
  /** Addresses of a container name on a network; undefined: not a container's name there. */
  /** `from`: the asking container's address on that network, when known (its other networks count too). */
  lookup(networkId: string, name: string, from?: string): string[] | undefined;
  log?: (message: string) => void;
  /** How long an upstream may take before the next is tried. */
  upstreamTimeoutMs?: number;
}

/** Seconds a container name's answer may be cached: short, since containers come and go. */
const CONTAINER_TTL = 0;
const MAX_PACKET = 4096;

export function parseUpstream(text: string): Upstream {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match) throw new RangeError(`DNS server "${text}" is not an IPv4 address[:port]`);
  return { host: match[1], port: match[2] ? Number(match[2]) : 53 };
}

/** The host's own resolvers (/etc/resolv.conf), IPv4 only. */
export function hostUpstreams(resolvConf = '/etc/resolv.conf'): Upstream[] {
  try {
    return readFileSync(resolvConf, 'utf8').split('\n').flatMap((line) => {
      const m = /^\s*nameserver\s+(\S+)/.exec(line);
      if (!m) return [];
      try { return [parseUpstream(m[1])]; } catch { return []; }
    });
  } catch {
    return [];
  }
}

interface Listener {
  socket: Socket;
  internal: boolean;
}

export class DnsResolver {
  private readonly options: DnsResolverOptions;
  private readonly listeners = new Map<string, Listener>();

  constructor(options: DnsResolverOptions) {
    this.options = options;
  }

  /** Serves the network on its gateway address (the bridge has that address by now). */
  async listen(networkId: string, gateway: string, internal: boolean): Promise<void> {
    if (this.listeners.has(networkId)) return;
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: gateway, port: 53, exclusive: true }, () => { socket.off('error', reject); resolve(); });
    });
    socket.on('error', (err) => this.options.log?.(`dns: ${gateway}: ${err.message}`));
    socket.on('message', (msg, from) => {
      void this.answer(networkId, internal, msg, from.address).then((reply) => {
        if (reply) socket.send(reply, from.port, from.address);
      }, (err: Error) => this.options.log?.(`dns: ${err.message}`));
    });
    this.listeners.set(networkId, { socket, internal });
  }

  close(networkId: string): void {
    this.listeners.get(networkId)?.socket.close();
    this.listeners.delete(networkId);
  }

  closeAll(): void {
    for (const id of [...this.listeners.keys()]) this.close(id);
  }

  /** The reply to one query packet; undefined for packets that are no query (ignored, as resolvers do). */
  async answer(networkId: string, internal: boolean, msg: Buffer, from?: string): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    if (query.type !== 'query' || !query.questions || query.questions.length !== 1) return undefined;
    const question = query.questions[0];
    const name = question.name.replace(/\.$/, '').toLowerCase();
    const addresses = this.options.lookup(networkId, name, from);
    if (addresses) {
      // A container's name: its IPv4 addresses; other types get an empty answer, not a forward.
      const answers: Answer[] = question.type === 'A' && (question.class ?? 'IN') === 'IN'
        ? addresses.map((ip) => ({ type: 'A' as const, name: question.name, class: 'IN' as const, ttl: CONTAINER_TTL, data: ip }))
        : [];
      return reply(query, 0, answers);
    }
    if (internal || this.options.upstreams.length === 0) return reply(query, internal ? 3 : 2, []); // NXDOMAIN / SERVFAIL
    for (const upstream of this.options.upstreams) {
      const forwarded = await forward(msg, upstream, this.options.upstreamTimeoutMs ?? 2000);
      if (forwarded) return forwarded;
    }
    return reply(query, 2, []);
  }
}

function reply(query: DecodedPacket, rcode: number, answers: Answer[]): Buffer {
  return dnsPacket.encode({
    id: query.id,
    type: 'response',
    // QR, RD as asked, RA, and the response code in the low 4 bits.
    flags: (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: query.questions,
    answers,
  });
}

/** Asks one upstream with the client's own packet; its reply, or undefined on timeout or error. */
function forward(msg: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (value: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (answer) => {
      // Only the reply to this question (same id) counts.
      if (answer.length >= 2 && answer.length <= MAX_PACKET && answer.readUInt16BE(0) === msg.readUInt16BE(0)) done(answer);
    });
    socket.send(msg, upstream.port, upstream.host);
  });
}
