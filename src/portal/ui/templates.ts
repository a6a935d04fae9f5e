// Templates (compose files): import, edit, deploy to a host as an application; applications removed as one.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, canOperate, type Me } from './api.ts';

class BvTemplates extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, templates: { state: true }, apps: { state: true }, hosts: { state: true },
    editing: { state: true }, busy: { state: true } };
  declare me: Me;
  declare templates: any[];
  declare apps: any[];
  declare hosts: any[];
  declare editing: string | null;
  declare busy: boolean;

  constructor() { super(); this.templates = []; this.apps = []; this.hosts = []; this.editing = null; this.busy = false; }

  private timer = 0;

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    // Applications' containers change state on their own: the page follows them.
    this.timer = window.setInterval(() => void this.load(), 5000);
  }

  disconnectedCallback() { super.disconnectedCallback(); clearInterval(this.timer); }

  async load() {
    await this.quietly(async () => {
      [this.templates, this.apps, this.hosts] = await Promise.all([api('GET', '/templates'), api('GET', '/applications'), api('GET', '/hosts')]);
    });
  }

  async importTemplate(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const file = data.get('file') as File | null;
    const compose = file && file.size ? await file.text() : String(data.get('compose') ?? '');
    const ok = await this.attempt(() => api('POST', '/templates', { name: data.get('name'), project: data.get('project') || null, compose }), 'Template imported.');
    if (ok) form.reset();
    await this.load();
  }

  async save(t: any, e: Event) {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const ok = await this.attempt(() => api('PUT', `/templates/${t.id}`, { name: data.get('name'), compose: data.get('compose') }), 'Template saved.');
    if (ok) this.editing = null;
    await this.load();
  }

  async deploy(t: any, e: Event) {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    this.busy = true;
    await this.attempt(() => api('POST', `/templates/${t.id}/deploy`, { hostId: data.get('hostId'), application: data.get('application'), project: data.get('project') || null }),
      `Application ${String(data.get('application'))} deployed.`);
    this.busy = false;
    await this.load();
  }

  async removeApp(a: any) {
    this.busy = true;
    await this.attempt(() => api('DELETE', `/hosts/${encodeURIComponent(a.hostId)}/applications/${encodeURIComponent(a.name)}`), `Application ${a.name} removed.`);
    this.busy = false;
    await this.load();
  }

  async scale(a: any, service: string, e: Event) {
    e.preventDefault();
    const replicas = Number(new FormData(e.target as HTMLFormElement).get('replicas'));
    this.busy = true;
    await this.attempt(() => api('PUT', `/hosts/${encodeURIComponent(a.hostId)}/applications/${encodeURIComponent(a.name)}/services/${encodeURIComponent(service)}/scale`, { replicas }),
      `Service ${service} of ${a.name} scaled to ${replicas}.`);
    this.busy = false;
    await this.load();
  }

  /** An application's containers grouped by service, in container-number order. */
  services(a: any): [string, any[]][] {
    const by = new Map<string, any[]>();
    for (const c of a.containers) by.set(c.service, [...(by.get(c.service) ?? []), c]);
    for (const list of by.values()) list.sort((x, y) => x.number - y.number);
    return [...by.entries()].sort(([x], [y]) => x.localeCompare(y));
  }

  async removeTemplate(t: any) {
    await this.attempt(() => api('DELETE', `/templates/${t.id}`), 'Template removed.');
    await this.load();
  }

  render() {
    const projects = this.me.projects.filter((p) => this.me.sysadmin || p.role === 'admin' || p.role === 'member');
    return html`<h2>Templates</h2>${this.banners()}
      ${projects.length || this.me.sysadmin ? html`<form class="card" @submit=${this.importTemplate} aria-label="Import a compose file">
        <div class="row"><label>Name <input name="name" required></label>
        <label>Project <select name="project">${this.me.sysadmin ? html`<option value="">(none)</option>` : ''}${projects.map((p) => html`<option>${p.name}</option>`)}</select></label>
        <label>Compose file <input name="file" type="file" accept=".yml,.yaml"></label></div>
        <label>…or paste it <textarea name="compose" rows="6" placeholder="services:"></textarea></label>
        <button type="submit">Import</button></form>` : ''}
      <table class="templates"><thead><tr><th>Template</th><th>Project</th><th>Services</th><th>Deploy</th><th></th></tr></thead><tbody>
      ${this.templates.map((t) => html`<tr data-template=${t.name}><td>${t.name}</td><td>${t.project ?? ''}</td>
        <td>${t.error ? html`<span class="error">${t.error}</span>` : (t.services ?? []).map((s: any) => html`<div>${s.service}: <code>${s.image}</code> × ${s.replicas}
          ${s.ports?.length ? html`<small>ports ${s.ports.map((p: any) => `${p.hostPort || '*'}→${p.containerPort}/${p.protocol}`).join(', ')}</small>` : ''}
          ${s.dependsOn?.length ? html`<small>after ${s.dependsOn.join(', ')}</small>` : ''}${s.restart ? html` <small>restart ${s.restart.Name}</small>` : ''}</div>`)}</td>
        <td>${canOperate(this.me, t.project) || (this.me.sysadmin) ? html`<form class="row" @submit=${(e: Event) => this.deploy(t, e)}>
          <select name="hostId">${this.hosts.map((h) => html`<option value=${h.id}>${h.name}</option>`)}</select>
          <input name="application" required placeholder="application name" pattern="[a-z0-9][a-z0-9_-]*">
          <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Working…' : 'Deploy'}</button></form>` : ''}</td>
        <td>${canOperate(this.me, t.project) ? html`<button class="secondary" @click=${() => { this.editing = t.id; }}>Edit</button>
          <button class="danger" @click=${() => this.removeTemplate(t)}>Delete</button>` : ''}</td></tr>
        ${this.editing === t.id ? html`<tr><td colspan="5"><form @submit=${(e: Event) => this.save(t, e)} aria-label="Edit template">
          <label>Name <input name="name" .value=${t.name}></label><label>Compose <textarea name="compose" rows="12" .value=${t.compose}></textarea></label>
          <button type="submit">Save</button> <button type="button" class="secondary" @click=${() => { this.editing = null; }}>Cancel</button></form></td></tr>` : ''}`)}
      </tbody></table>
      <h2>Applications</h2>
      <table class="applications"><thead><tr><th>Application</th><th>Host</th><th>Project</th><th>Containers</th><th></th></tr></thead><tbody>
      ${this.apps.map((a) => html`<tr data-application=${a.name}><td>${a.name}</td><td>${a.hostName}</td><td>${a.project ?? ''}</td>
        <td>${this.services(a).map(([service, list]) => html`<div class="service" data-service=${service}><b>${service}</b> × <span class="count">${list.length}</span>
          ${canOperate(this.me, a.project) && a.template ? html`<form class="row inline" aria-label=${`Scale ${service}`} @submit=${(e: Event) => this.scale(a, service, e)}>
            <input name="replicas" aria-label="Replicas" type="number" min="0" max="20" style="width:4em" .value=${String(list.length)}>
            <button type="submit" class="secondary" ?disabled=${this.busy}>Scale</button></form>` : ''}
          ${list.map((c: any) => html`<div data-container=${c.name}><a href="#/containers/${encodeURIComponent(a.hostId)}/${c.id}">${c.name}</a> <span class="state-${c.state}">${c.state}</span>
            ${(c.ports ?? []).map((p: any) => html` <code class="port">${p.host}→${p.container}</code>`)}</div>`)}</div>`)}</td>
        <td>${canOperate(this.me, a.project) ? html`<button class="danger" ?disabled=${this.busy} @click=${() => this.removeApp(a)}>Remove application</button>` : ''}</td></tr>`)}
      </tbody></table>`;
  }
}
customElements.define('bv-templates', BvTemplates);
