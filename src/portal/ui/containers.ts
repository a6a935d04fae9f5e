// Containers across hosts: filters, live state (engine events over SSE), run from an image, lifecycle.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, canOperate, type Me } from './api.ts';

export interface Container { hostId: string; hostName: string; id: string; name: string; image: string; state: string; status: string; project: string | null; application: string | null }
interface Host { id: string; name: string; state: string }

class BvContainers extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, list: { state: true }, hosts: { state: true }, images: { state: true },
    filter: { state: true }, busy: { state: true } };
  declare me: Me;
  declare list: Container[];
  declare hosts: Host[];
  declare images: string[];
  declare filter: { host: string; project: string; state: string; name: string };
  declare busy: boolean;
  private events: EventSource | null = null;
  private reloadTimer = 0;

  constructor() {
    super();
    this.list = [];
    this.hosts = [];
    this.images = [];
    this.filter = { host: '', project: '', state: '', name: '' };
    this.busy = false;
  }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    void this.attempt(async () => { this.hosts = await api('GET', '/hosts'); await this.loadImages(); });
    // Engine events say something changed; the list is re-read through the API (which applies access rules).
    this.events = new EventSource('/api/events');
    this.events.onmessage = () => {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = window.setTimeout(() => void this.load(), 200);
    };
  }

  disconnectedCallback() { super.disconnectedCallback(); this.events?.close(); }

  async load() {
    const q = new URLSearchParams(Object.entries(this.filter).filter(([, v]) => v));
    await this.quietly(async () => { this.list = await api('GET', `/containers?${q}`); });
  }

  async loadImages() {
    const host = (this.querySelector('select[name=hostId]') as HTMLSelectElement | null)?.value ?? this.hosts[0]?.id;
    const local: string[] = [];
    if (host) for (const i of await api<{ tags: string[] }[]>('GET', `/hosts/${encodeURIComponent(host)}/images`)) local.push(...i.tags.filter((t) => t !== '<none>:<none>'));
    const fromRegistry: string[] = [];
    try {
      const info = await api('GET', '/registry-info');
      for (const p of await api<any[]>('GET', '/registry/projects')) {
        for (const r of await api<any[]>('GET', `/registry/projects/${encodeURIComponent(p.name)}/repositories`)) {
          const repo = r.name.slice(p.name.length + 1);
          for (const a of await api<any[]>('GET', `/registry/projects/${encodeURIComponent(p.name)}/repositories/${encodeURIComponent(encodeURIComponent(repo))}/artifacts`)) {
            for (const t of a.tags ?? []) fromRegistry.push(`${info.host}/${r.name}:${t.name}`);
          }
        }
      }
    } catch { /* the registry's images are a convenience here */ }
    this.images = [...new Set([...local, ...fromRegistry])];
  }

  async run(e: Event) {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const cmd = String(data.get('cmd') ?? '').trim();
    this.busy = true;
    await this.attempt(() => api('POST', '/containers', {
      hostId: data.get('hostId'), image: data.get('image'), name: data.get('name') || undefined, project: data.get('project') || null,
      cmd: cmd ? ['sh', '-c', cmd] : undefined, memoryMiB: Number(data.get('memoryMiB') || 256), tty: data.get('tty') === 'on',
    }), 'Container started.');
    this.busy = false;
    await this.load();
  }

  async act(c: Container, action: 'start' | 'stop' | 'restart' | 'remove') {
    const path = `/hosts/${encodeURIComponent(c.hostId)}/containers/${c.id}`;
    await this.attempt(() => action === 'remove' ? api('DELETE', path) : api('POST', `${path}/${action}`), `${action}: ${c.name}`);
    await this.load();
  }

  setFilter(key: keyof BvContainers['filter'], value: string) {
    this.filter = { ...this.filter, [key]: value };
    void this.load();
  }

  render() {
    const runnable = this.me.sysadmin || this.me.projects.some((p) => p.role === 'admin' || p.role === 'member');
    const projects = this.me.projects.filter((p) => this.me.sysadmin || p.role === 'admin' || p.role === 'member');
    return html`<h2>Containers</h2>${this.banners()}
      ${runnable ? html`<form class="row card" @submit=${this.run} aria-label="Run a container">
        <label>Host <select name="hostId" @change=${() => this.attempt(() => this.loadImages())}>${this.hosts.map((h) => html`<option value=${h.id}>${h.name}</option>`)}</select></label>
        <label>Image <input name="image" list="images" required placeholder="busybox"><datalist id="images">${this.images.map((i) => html`<option value=${i}></option>`)}</datalist></label>
        <label>Name <input name="name" placeholder="(generated)"></label>
        <label>Command <input name="cmd" placeholder="sh -c …"></label>
        <label>Project <select name="project">${this.me.sysadmin ? html`<option value="">(none)</option>` : ''}${projects.map((p) => html`<option>${p.name}</option>`)}</select></label>
        <label>Memory MiB <input name="memoryMiB" type="number" value="256" min="64" style="width:6em"></label>
        <label>TTY <input name="tty" type="checkbox" checked></label>
        <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Starting…' : 'Run'}</button></form>` : html`<p>You are a viewer: you can look, not run.</p>`}
      <div class="row">
        <label>Host <select @change=${(e: Event) => this.setFilter('host', (e.target as HTMLSelectElement).value)}><option value="">all</option>${this.hosts.map((h) => html`<option value=${h.id}>${h.name}</option>`)}</select></label>
        <label>State <select @change=${(e: Event) => this.setFilter('state', (e.target as HTMLSelectElement).value)}><option value="">all</option><option>running</option><option>exited</option><option>created</option></select></label>
        <label>Project <select @change=${(e: Event) => this.setFilter('project', (e.target as HTMLSelectElement).value)}><option value="">all</option>${this.me.projects.map((p) => html`<option>${p.name}</option>`)}</select></label>
        <label>Name <input @input=${(e: Event) => this.setFilter('name', (e.target as HTMLInputElement).value)}></label>
      </div>
      <table class="containers"><thead><tr><th>Name</th><th>Host</th><th>Image</th><th>State</th><th>Project</th><th>Application</th><th>Actions</th></tr></thead>
      <tbody>${this.list.map((c) => {
        const ok = canOperate(this.me, c.project);
        return html`<tr data-name=${c.name} data-state=${c.state}>
          <td><a href="#/containers/${encodeURIComponent(c.hostId)}/${c.id}">${c.name}</a></td><td>${c.hostName}</td><td>${c.image}</td>
          <td class="state-${c.state}">${c.state} <small>${c.status}</small></td><td>${c.project ?? ''}</td><td>${c.application ?? ''}</td>
          <td>${ok ? html`<button class="secondary" ?disabled=${c.state === 'running'} @click=${() => this.act(c, 'start')}>Start</button>
            <button class="secondary" ?disabled=${c.state !== 'running'} @click=${() => this.act(c, 'stop')}>Stop</button>
            <button class="secondary" @click=${() => this.act(c, 'restart')}>Restart</button>
            <button class="danger" @click=${() => this.act(c, 'remove')}>Remove</button>` : html`<span class="muted">view only</span>`}</td></tr>`;
      })}</tbody></table>`;
  }
}
customElements.define('bv-containers', BvContainers);
