// Hosts (state, capacity, use; adding one by endpoint and client certificate), networks and volumes.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, bytes, type Me } from './api.ts';

class BvHosts extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, hosts: { state: true } };
  declare me: Me;
  declare hosts: any[];
  constructor() { super(); this.hosts = []; }
  connectedCallback() { super.connectedCallback(); void this.load(); }
  async load() { await this.quietly(async () => { this.hosts = await api('GET', '/hosts'); }); }

  async add(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const pem = async (k: string) => { const f = data.get(`${k}File`) as File | null; return f && f.size ? f.text() : String(data.get(k) ?? ''); };
    const ok = await this.attempt(async () => api('POST', '/hosts', { name: data.get('name'), endpoint: data.get('endpoint'), ca: await pem('ca'), cert: await pem('cert'), key: await pem('key') }), 'Host added.');
    if (ok) form.reset();
    await this.load();
  }

  async removeHost(h: any) { await this.attempt(() => api('DELETE', `/hosts/${encodeURIComponent(h.id)}`), 'Host removed.'); await this.load(); }

  render() {
    return html`<h2>Hosts</h2>${this.banners()}
      <table class="hosts"><thead><tr><th>Name</th><th>Endpoint</th><th>State</th><th>Containers</th><th>CPUs</th><th>Memory</th><th>Images</th><th></th></tr></thead><tbody>
      ${this.hosts.map((h) => html`<tr data-host=${h.id}><td>${h.name} <small>(${h.source})</small></td><td><code>${h.endpoint}</code></td>
        <td class=${h.state === 'ready' ? 'state-running' : 'state-exited'}>${h.state}${h.error ? html` <small>${h.error}</small>` : ''}</td>
        <td>${h.containers ?? ''} (${h.running ?? 0} running)</td><td>${h.cpus ?? ''}</td><td>${h.memoryBytes ? bytes(h.memoryBytes) : ''}</td><td>${h.images ?? ''}</td>
        <td>${this.me.sysadmin && h.source === 'added' ? html`<button class="danger" @click=${() => this.removeHost(h)}>Remove</button>` : ''}</td></tr>`)}
      </tbody></table>
      ${this.me.sysadmin ? html`<form class="card" @submit=${this.add} aria-label="Add a host"><h3>Add a host (mutual TLS)</h3>
        <div class="row"><label>Name <input name="name" required></label><label>Endpoint <input name="endpoint" required placeholder="tcp://10.0.0.5:2376"></label></div>
        ${['ca', 'cert', 'key'].map((k) => html`<div class="row"><label>${k}.pem <textarea name=${k} rows="2" cols="60" placeholder="-----BEGIN …"></textarea></label>
          <label>or upload <input type="file" name="${k}File" accept=".pem,.crt,.key"></label></div>`)}
        <button type="submit">Add host</button></form>` : ''}`;
  }
}
customElements.define('bv-hosts', BvHosts);

/** Networks or volumes of each visible host. */
class HostResources extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, rows: { state: true } };
  declare me: Me;
  declare rows: { host: any; items: any[] }[];
  kind: 'networks' | 'volumes' = 'networks';
  constructor() { super(); this.rows = []; }
  connectedCallback() { super.connectedCallback(); void this.load(); }
  async load() {
    await this.quietly(async () => {
      const hosts = await api<any[]>('GET', '/hosts');
      this.rows = await Promise.all(hosts.map(async (host) => ({ host, items: await api<any[]>('GET', `/hosts/${encodeURIComponent(host.id)}/${this.kind}`).catch(() => []) })));
    });
  }
  async create(hostId: string, e: Event) {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    await this.attempt(() => api('POST', `/hosts/${encodeURIComponent(hostId)}/${this.kind}`, { name: data.get('name') }), 'Created.');
    await this.load();
  }
  async removeItem(hostId: string, key: string) {
    await this.attempt(() => api('DELETE', `/hosts/${encodeURIComponent(hostId)}/${this.kind}/${encodeURIComponent(key)}`), 'Removed.');
    await this.load();
  }
  render() {
    const net = this.kind === 'networks';
    return html`<h2>${net ? 'Networks' : 'Volumes'}</h2>${this.banners()}
      ${this.rows.map(({ host, items }) => html`<h3>${host.name}</h3>
        <table class=${this.kind}><thead><tr><th>Name</th><th>Driver</th><th>${net ? 'Subnets' : 'Created'}</th><th>Application</th><th></th></tr></thead><tbody>
        ${items.map((x) => html`<tr><td>${x.name}</td><td>${x.driver}</td><td>${net ? x.subnets.join(', ') : x.createdAt}</td><td>${x.labels['com.docker.compose.project'] ?? ''}</td>
          <td>${this.me.sysadmin && !['bridge', 'host', 'none'].includes(x.name) ? html`<button class="danger" @click=${() => this.removeItem(host.id, net ? x.id : x.name)}>Remove</button>` : ''}</td></tr>`)}
        </tbody></table>
        ${this.me.sysadmin ? html`<form class="row" @submit=${(e: Event) => this.create(host.id, e)}><input name="name" required placeholder="name"><button type="submit">Create</button></form>` : ''}`)}`;
  }
}
class BvNetworks extends HostResources { constructor() { super(); this.kind = 'networks'; } }
class BvVolumes extends HostResources { constructor() { super(); this.kind = 'volumes'; } }
customElements.define('bv-networks', BvNetworks);
customElements.define('bv-volumes', BvVolumes);
