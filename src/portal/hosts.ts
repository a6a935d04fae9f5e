// The hosts the portal manages: local VCHs found under --vch-home (each datastore's endpoints.json)
// and hosts added by endpoint + client certificate (kept in the portal's store).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DockerHost } from './docker-host.ts';
import type { PortalStore } from './store.ts';
import { notFound } from './http.ts';

export interface HostRecord {
  id: string;
  name: string;
  endpoint: string;
  source: 'local' | 'added';
  docker: DockerHost;
}

interface Endpoints { unix?: string; tcp?: string; certPath?: string }

export class HostInventory {
  private readonly vchHome: string;
  private readonly store: PortalStore;
  private readonly clients = new Map<string, { key: string; docker: DockerHost }>();

  constructor(vchHome: string, store: PortalStore) {
    this.vchHome = vchHome;
    this.store = store;
  }

  /** Every host, local first; re-read each time so VCHs started later appear. */
  list(): HostRecord[] {
    const out: HostRecord[] = [];
    for (const local of this.localVchs()) out.push(local);
    for (const h of this.store.listHosts()) {
      out.push({ id: h.id, name: h.name, endpoint: h.endpoint, source: 'added', docker: this.client(h.id, h.endpoint, { ca: h.ca, cert: h.cert, key: h.key }) });
    }
    return out;
  }

  get(id: string): HostRecord {
    const host = this.list().find((h) => h.id === id);
    if (!host) throw notFound(`no such host: ${id}`);
    return host;
  }

  private localVchs(): HostRecord[] {
    let names: string[];
    try { names = readdirSync(this.vchHome).sort(); } catch { return []; }
    const out: HostRecord[] = [];
    for (const name of names) {
      const file = join(this.vchHome, name, 'endpoints.json');
      if (!existsSync(file)) continue;
      let ep: Endpoints;
      try { ep = JSON.parse(readFileSync(file, 'utf8')) as Endpoints; } catch { continue; }
      // The unix socket when it is there (same machine, root); else the TCP endpoint with the VCH's client certificate.
      if (ep.unix && existsSync(ep.unix.slice('unix://'.length))) {
        out.push({ id: `local-${name}`, name, endpoint: ep.unix, source: 'local', docker: this.client(`local-${name}`, ep.unix, {}) });
      } else if (ep.tcp && ep.certPath) {
        try {
          const tls = { ca: readFileSync(join(ep.certPath, 'ca.pem'), 'utf8'), cert: readFileSync(join(ep.certPath, 'cert.pem'), 'utf8'), key: readFileSync(join(ep.certPath, 'key.pem'), 'utf8') };
          out.push({ id: `local-${name}`, name, endpoint: ep.tcp, source: 'local', docker: this.client(`local-${name}`, ep.tcp, tls) });
        } catch { continue; }
      }
    }
    return out;
  }

  private client(id: string, endpoint: string, tls: { ca?: string; cert?: string; key?: string }): DockerHost {
    const key = `${endpoint}\n${tls.cert ?? ''}`;
    const cached = this.clients.get(id);
    if (cached && cached.key === key) return cached.docker;
    const docker = new DockerHost({ endpoint, ...tls });
    this.clients.set(id, { key, docker });
    return docker;
  }
}
