// A DNS server on loopback that knows a fixed set of A records: the "outside world" a VCH's resolver
// forwards to in tests (no real resolver is reachable here).
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export class FakeUpstreamDns {
  private socket?: Socket;
  readonly records: Record<string, string>;
  port = 0;
  /** Questions seen, lowercased names. */
  readonly asked: string[] = [];

  constructor(records: Record<string, string>) {
    this.records = records;
  }

  async start(): Promise<void> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (msg, from) => {
      const query = dnsPacket.decode(msg);
      const question = query.questions![0];
      const name = question.name.toLowerCase();
      this.asked.push(name);
      const ip = this.records[name];
      const reply = dnsPacket.encode({
        id: query.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | (ip ? 0 : 3),
        questions: query.questions,
        answers: ip && question.type === 'A' ? [{ type: 'A', name: question.name, class: 'IN', ttl: 60, data: ip }] : [],
      });
      socket.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.port = socket.address().port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): void {
    this.socket?.close();
  }
}
