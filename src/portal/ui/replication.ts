// Replication (administrators): endpoints (remote registries), rules that push to or pull from one of
// them with name/tag filters and a trigger, executions started by hand and their per-artifact tasks.
import { html } from 'lit';
import { Page } from './base.ts';
import { api } from './api.ts';

const triggers: [string, string][] = [['manual', 'Manual'], ['event_based', 'On push'], ['scheduled', 'Scheduled (cron)']];

class BvReplication extends Page {
  static properties = { ...Page.properties, endpoints: { state: true }, rules: { state: true }, executions: { state: true },
    editing: { state: true }, editingEndpoint: { state: true }, tasksOf: { state: true }, tasks: { state: true } };
  declare endpoints: any[];
  declare rules: any[];
  declare executions: any[];
  /** The rule in the form: null for none shown, {} for a new one. */
  declare editing: any | null;
  declare editingEndpoint: any | null;
  declare tasksOf: number | null;
  declare tasks: any[];
  private timer = 0;

  constructor() {
    super();
    this.endpoints = []; this.rules = []; this.executions = []; this.editing = null; this.editingEndpoint = null; this.tasksOf = null; this.tasks = [];
  }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    // Executions run on their own: while one is in progress the page follows it.
    this.timer = window.setInterval(() => { if (this.executions.some((e) => e.status === 'InProgress')) void this.load(); }, 1500);
  }

  disconnectedCallback() { super.disconnectedCallback(); clearInterval(this.timer); }

  async load() {
    await this.quietly(async () => {
      [this.endpoints, this.rules, this.executions] = await Promise.all([api('GET', '/registry/registries'), api('GET', '/registry/replication/policies'),
        api('GET', '/registry/replication/executions')]);
      if (this.tasksOf !== null) this.tasks = await api('GET', `/registry/replication/executions/${this.tasksOf}/tasks`);
    });
  }

  async act(work: () => Promise<unknown>, notice: string) {
    const ok = await this.attempt(work, notice);
    await this.load();
    return ok;
  }

  async saveEndpoint(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    const secret = String(d.get('secret') ?? '');
    const body = { name: d.get('name'), type: d.get('type'), url: d.get('url'), insecure: d.get('insecure') === 'on',
      credential: { type: 'basic', access_key: d.get('user') ?? '', ...(secret ? { access_secret: secret } : {}) } };
    const id = this.editingEndpoint?.id;
    const ok = await this.act(() => (id ? api('PUT', `/registry/registries/${id}`, body) : api('POST', '/registry/registries', body)), id ? 'Endpoint saved.' : 'Endpoint added.');
    if (ok !== undefined) { this.editingEndpoint = null; form.reset(); }
  }

  async saveRule(e: Event) {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const endpoint = { id: Number(d.get('endpoint')) };
    const push = d.get('direction') === 'push';
    const trigger = String(d.get('trigger'));
    const body = {
      name: d.get('name'), description: d.get('description') ?? '',
      src_registry: push ? null : endpoint, dest_registry: push ? endpoint : null, dest_namespace: d.get('namespace') ?? '',
      filters: [{ type: 'name', value: d.get('nameFilter') || '**' }, { type: 'tag', value: d.get('tagFilter') || '**', decoration: 'matches' }],
      trigger: { type: trigger, trigger_settings: { cron: trigger === 'scheduled' ? d.get('cron') : '' } },
      enabled: d.get('enabled') === 'on', override: d.get('override') === 'on',
    };
    const id = this.editing?.id;
    const ok = await this.act(() => (id ? api('PUT', `/registry/replication/policies/${id}`, body) : api('POST', '/registry/replication/policies', body)),
      id ? `Rule ${String(body.name)} saved.` : `Rule ${String(body.name)} created.`);
    if (ok !== undefined) this.editing = null;
  }

  async showTasks(id: number) {
    this.tasksOf = id;
    await this.quietly(async () => { this.tasks = await api('GET', `/registry/replication/executions/${id}/tasks`); });
  }

  render() {
    return html`<h3>Endpoints</h3>${this.banners()}
      <table class="endpoints"><thead><tr><th>Name</th><th>Type</th><th>URL</th><th>User</th><th>TLS</th><th></th></tr></thead><tbody>
      ${this.endpoints.map((r) => html`<tr data-endpoint=${r.name}><td>${r.name}</td><td>${r.type}</td><td><code>${r.url}</code></td><td>${r.credential?.access_key ?? ''}</td>
        <td>${String(r.url).startsWith('https:') ? (r.insecure ? 'not verified' : 'verified') : 'none (http)'}</td>
        <td><button class="secondary" @click=${() => this.act(() => api('POST', '/registry/registries/ping', { id: r.id }), `Endpoint ${r.name} answers.`)}>Test</button>
          <button class="secondary" @click=${() => { this.editingEndpoint = r; }}>Edit</button>
          <button class="danger" @click=${() => this.act(() => api('DELETE', `/registry/registries/${r.id}`), `Endpoint ${r.name} removed.`)}>Delete</button></td></tr>`)}
      </tbody></table>
      ${this.endpointForm()}
      <h3>Rules</h3>
      <table class="rules"><thead><tr><th>Name</th><th>Direction</th><th>Filters</th><th>Trigger</th><th>Enabled</th><th></th></tr></thead><tbody>
      ${this.rules.map((p) => {
        const push = p.dest_registry?.id;
        const remote = push ? p.dest_registry : p.src_registry;
        return html`<tr data-rule=${p.name}><td>${p.name}</td>
          <td>${push ? html`push to <b>${remote.name}</b>${p.dest_namespace ? html` / ${p.dest_namespace}` : ''}` : html`pull from <b>${remote.name}</b>`}</td>
          <td>${p.filters.map((f: any) => html`<div>${f.type}: <code>${f.value}</code></div>`)}</td>
          <td>${triggers.find(([t]) => t === p.trigger?.type)?.[1] ?? p.trigger?.type}${p.trigger?.trigger_settings?.cron ? html` <code>${p.trigger.trigger_settings.cron}</code>` : ''}</td>
          <td>${p.enabled ? 'yes' : 'no'}</td>
          <td><button @click=${() => this.act(() => api('POST', '/registry/replication/executions', { policy_id: p.id }), `Replication of ${p.name} started.`)}>Replicate now</button>
            <button class="secondary" @click=${() => { this.editing = p; }}>Edit</button>
            <button class="danger" @click=${() => this.act(() => api('DELETE', `/registry/replication/policies/${p.id}`), `Rule ${p.name} deleted.`)}>Delete</button></td></tr>`;
      })}</tbody></table>
      ${this.editing ? this.ruleForm(this.editing) : html`<button ?disabled=${!this.endpoints.length} title=${this.endpoints.length ? '' : 'add an endpoint first'}
        @click=${() => { this.editing = {}; }}>New rule</button>`}
      <h3>Executions</h3>
      <table class="executions"><thead><tr><th>Id</th><th>Rule</th><th>Status</th><th>Trigger</th><th>Started</th><th>Ended</th><th>Artifacts</th><th></th></tr></thead><tbody>
      ${this.executions.map((x) => html`<tr data-execution=${x.id} data-status=${x.status}><td>${x.id}</td><td>${this.rules.find((p) => p.id === x.policy_id)?.name ?? x.policy_id}</td>
        <td class="status">${x.status}</td><td>${x.trigger}</td><td>${x.start_time ?? ''}</td><td>${x.end_time ?? ''}</td>
        <td>${x.succeed} of ${x.total} copied${x.failed ? html`, <b>${x.failed} failed</b>` : ''}</td>
        <td><button class="secondary" @click=${() => this.showTasks(x.id)}>Tasks</button></td></tr>`)}
      </tbody></table>
      ${this.tasksOf !== null ? html`<h4>Tasks of execution ${this.tasksOf}</h4>
        <table class="tasks"><thead><tr><th>Source</th><th>Destination</th><th>Status</th><th>Message</th><th>Started</th><th>Ended</th></tr></thead><tbody>
        ${this.tasks.map((t) => html`<tr data-status=${t.status}><td><code>${t.src_resource}</code></td><td><code>${t.dst_resource}</code></td><td>${t.status}</td>
          <td>${t.message ?? ''}</td><td>${t.start_time ?? ''}</td><td>${t.end_time ?? ''}</td></tr>`)}</tbody></table>` : ''}`;
  }

  endpointForm() {
    const r = this.editingEndpoint ?? {};
    return html`<form class="row" aria-label=${r.id ? 'Edit endpoint' : 'Add an endpoint'} @submit=${this.saveEndpoint}>
      <label>Endpoint name <input name="name" required .value=${r.name ?? ''}></label>
      <label>Type <select name="type">${['docker-registry', 'harbor'].map((t) => html`<option ?selected=${r.type === t}>${t}</option>`)}</select></label>
      <label>URL <input name="url" required placeholder="https://host:5443" .value=${r.url ?? ''}></label>
      <label>User <input name="user" .value=${r.credential?.access_key ?? ''}></label>
      <label>Secret <input name="secret" type="password" placeholder=${r.id ? '(unchanged)' : ''}></label>
      <label>Skip TLS verify <input type="checkbox" name="insecure" ?checked=${r.insecure}></label>
      <button type="submit">${r.id ? 'Save endpoint' : 'Add endpoint'}</button>
      ${r.id ? html`<button type="button" class="secondary" @click=${() => { this.editingEndpoint = null; }}>Cancel</button>` : ''}</form>`;
  }

  ruleForm(p: any) {
    const push = p.id ? !!p.dest_registry?.id : true;
    const remote = p.id ? (push ? p.dest_registry : p.src_registry) : null;
    const filter = (type: string) => p.filters?.find((f: any) => f.type === type)?.value ?? '';
    return html`<form class="card" aria-label=${p.id ? 'Edit replication rule' : 'New replication rule'} @submit=${this.saveRule}>
      <div class="row"><label>Rule name <input name="name" required .value=${p.name ?? ''}></label>
      <label>Description <input name="description" .value=${p.description ?? ''}></label></div>
      <div class="row"><label>Direction <select name="direction"><option value="push" ?selected=${push}>Push to the endpoint</option>
        <option value="pull" ?selected=${!push}>Pull from the endpoint</option></select></label>
      <label>Endpoint <select name="endpoint">${this.endpoints.map((r) => html`<option value=${r.id} ?selected=${remote?.id === r.id}>${r.name}</option>`)}</select></label>
      <label>Destination namespace <input name="namespace" placeholder="(same project)" .value=${p.dest_namespace ?? ''}></label></div>
      <div class="row"><label>Repositories (name filter) <input name="nameFilter" placeholder="**" .value=${filter('name')}></label>
      <label>Tags (filter) <input name="tagFilter" placeholder="**" .value=${filter('tag')}></label></div>
      <div class="row"><label>Trigger <select name="trigger">${triggers.map(([t, label]) => html`<option value=${t} ?selected=${(p.trigger?.type ?? 'manual') === t}>${label}</option>`)}</select></label>
      <label>Cron (scheduled) <input name="cron" placeholder="0 0 2 * * *" .value=${p.trigger?.trigger_settings?.cron ?? ''}></label>
      <label>Enabled <input type="checkbox" name="enabled" ?checked=${p.enabled ?? true}></label>
      <label>Override existing <input type="checkbox" name="override" ?checked=${p.override ?? true}></label></div>
      <button type="submit">${p.id ? 'Save rule' : 'Create rule'}</button>
      <button type="button" class="secondary" @click=${() => { this.editing = null; }}>Cancel</button></form>`;
  }
}
customElements.define('bv-replication', BvReplication);
