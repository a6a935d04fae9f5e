// Projects: the caller's role, the hosts each may use (placements) and its quotas; administrators edit them.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, type Me } from './api.ts';

class BvProjects extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, projects: { state: true }, hosts: { state: true } };
  declare me: Me;
  declare projects: any[];
  declare hosts: any[];

  constructor() { super(); this.projects = []; this.hosts = []; }
  connectedCallback() { super.connectedCallback(); void this.load(); }

  async load() {
    await this.quietly(async () => { [this.projects, this.hosts] = await Promise.all([api('GET', '/projects'), api('GET', '/hosts')]); });
  }

  async create(e: Event) {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    await this.attempt(() => api('POST', '/projects', { name: data.get('name'), public: data.get('public') === 'on' }), 'Project created.');
    await this.load();
  }

  async saveSettings(p: any, e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const num = (k: string) => (String(data.get(k) ?? '').trim() === '' ? null : Number(data.get(k)));
    await this.attempt(async () => {
      await api('PUT', `/projects/${encodeURIComponent(p.name)}/placements`, { hostIds: data.getAll('hostIds') });
      await api('PUT', `/projects/${encodeURIComponent(p.name)}/quota`, { maxContainers: num('maxContainers'), maxMemoryMiB: num('maxMemoryMiB') });
    }, `Project ${p.name} saved.`);
    await this.load();
  }

  render() {
    return html`<h2>Projects</h2>${this.banners()}
      <form class="row" @submit=${this.create} aria-label="Create a project"><label>New project <input name="name" required pattern="[a-z0-9][a-z0-9._-]*"></label>
        <label>Public <input type="checkbox" name="public"></label><button type="submit">Create</button></form>
      <table class="projects"><thead><tr><th>Project</th><th>Your role</th><th>Use</th><th>Placements and quotas</th></tr></thead><tbody>
      ${this.projects.map((p) => html`<tr data-project=${p.name}><td>${p.name}<br><small><a href="#/registry/projects/${encodeURIComponent(p.name)}/members">members</a> ·
        <a href="#/registry/projects/${encodeURIComponent(p.name)}">registry</a></small></td><td>${p.role ?? 'none'}</td>
        <td>${p.used.containers} containers, ${p.used.memoryMiB} MiB</td>
        <td>${this.me.sysadmin ? html`<form class="row" @submit=${(e: Event) => this.saveSettings(p, e)}>
          ${this.hosts.map((h) => html`<label>${h.name} <input type="checkbox" name="hostIds" value=${h.id} ?checked=${p.placements.includes(h.id)}></label>`)}
          <label>Max containers <input name="maxContainers" type="number" min="0" style="width:5em" .value=${p.quota.maxContainers ?? ''}></label>
          <label>Max memory MiB <input name="maxMemoryMiB" type="number" min="0" style="width:6em" .value=${p.quota.maxMemoryMiB ?? ''}></label>
          <button type="submit">Save</button></form>`
          : html`hosts: ${p.placements.join(', ') || 'none'}; max ${p.quota.maxContainers ?? '∞'} containers, ${p.quota.maxMemoryMiB ?? '∞'} MiB`}</td></tr>`)}
      </tbody></table>`;
  }
}
customElements.define('bv-projects', BvProjects);
