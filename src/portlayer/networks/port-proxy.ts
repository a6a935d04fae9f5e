// Published ports: a listener on the host per binding that forwards to the container's address — a
// user-space proxy (TCP streams, UDP datagrams per client), so no firewall rule is needed and the
// host's own traffic is never rewritten. The proxy lives in the engine: it goes when the engine does
// and is opened again for re-adopted containers (service.ts).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { conflict } from '../errors.ts';
import type { PortBinding, PortProtocol } from './model.ts';

const UDP_IDLE_MS = 60_000;

export interface OpenProxy {
  binding: PortBinding;
  close(): void;
}

/** Listens on hostIp:hostPort (0: a free port, reported in the binding) and forwards to target:containerPort. */
export async function openProxy(request: { protocol: PortProtocol; hostIp: string; hostPort: number; containerPort: number }, target: string): Promise<OpenProxy> {
  const hostIp = request.hostIp || '0.0.0.0';
  try {
    return request.protocol === 'udp' ? await openUdp(request, hostIp, target) : await openTcp(request, hostIp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw conflict(`Bind for ${hostIp}:${request.hostPort} failed: ${code === 'EADDRINUSE' ? 'port is already allocated' : code}`);
    }
    throw err;
  }
}

function openTcp(request: { hostPort: number; containerPort: number }, hostIp: string, target: string): Promise<OpenProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: target, port: request.containerPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      // Either side failing (refused: nothing listens in the container yet) ends both.
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: hostIp, port: request.hostPort, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      const port = (server.address() as { port: number }).port;
      resolve({
        binding: { containerPort: request.containerPort, protocol: 'tcp', hostIp, hostPort: port },
        close: () => {
          server.close();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}

function openUdp(request: { hostPort: number; containerPort: number }, hostIp: string, target: string): Promise<OpenProxy> {
  const listener: UdpSocket = createSocket('udp4');
  // One upstream socket per client address, so replies find their way back; dropped when idle.
  const flows = new Map<string, { socket: UdpSocket; ready: Promise<void>; timer?: NodeJS.Timeout }>();
  const flowFor = (peer: RemoteInfo) => {
    const key = `${peer.address}:${peer.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const socket = createSocket('udp4');
      socket.on('message', (msg) => listener.send(msg, peer.port, peer.address));
      socket.on('error', () => undefined);
      // connect() is asynchronous; datagrams that arrive meanwhile wait for it.
      const ready = new Promise<void>((resolve) => socket.connect(request.containerPort, target, () => resolve()));
      flow = { socket, ready };
      flows.set(key, flow);
    }
    clearTimeout(flow.timer);
    const current = flow;
    flow.timer = setTimeout(() => { current.socket.close(); flows.delete(key); }, UDP_IDLE_MS);
    flow.timer.unref();
    return flow;
  };
  listener.on('message', (msg, peer) => {
    const flow = flowFor(peer);
    void flow.ready.then(() => flow.socket.send(msg));
  });
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.bind({ address: hostIp, port: request.hostPort, exclusive: true }, () => {
      listener.off('error', reject);
      listener.on('error', () => undefined);
      resolve({
        binding: { containerPort: request.containerPort, protocol: 'udp', hostIp, hostPort: listener.address().port },
        close: () => {
          listener.close();
          for (const flow of flows.values()) { clearTimeout(flow.timer); flow.socket.close(); }
          flows.clear();
        },
      });
    });
  });
}
