// The registry's system pages: garbage collection (schedule, run now, history), storage quotas per
// project (administrators), and the audit log filtered by user, operation and resource.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, bytes } from './api.ts';

const scheduleTypes = ['None', 'Hourly', 'Daily', 'Weekly', 'Custom'];

/** A run's outcome in words ("would" for dry runs); an error run's message as it is. */
function gcResult(r: any): string {
  if (!r || typeof r !== 'object') return String(r ?? '');
  const verb = r.dryRun ? 'would free' : 'freed';
  return `${verb} ${bytes(r.bytesFreed ?? 0)}: ${r.blobsDeleted ?? 0} of ${r.blobsScanned ?? 0} blobs, ${r.manifestsDeleted ?? 0} manifests, ${r.uploadsRemoved ?? 0} stale uploads`;
}

class BvGc extends Page {
  static properties = { ...Page.properties, schedule: { state: true }, runs: { state: true } };
  declare schedule: any;
  declare runs: any[];
  private timer = 0;

  constructor() { super(); this.schedule = null; this.runs = []; }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    this.timer = window.setInterval(() => { if (this.runs.some((r) => r.job_status === 'Running')) void this.load(); }, 1500);
  }

  disconnectedCallback() { super.disconnectedCallback(); clearInterval(this.timer); }

  async load() {
    await this.quietly(async () => { [this.schedule, this.runs] = await Promise.all([api('GET', '/registry/system/gc/schedule'), api('GET', '/registry/system/gc')]); });
  }

  async run(e: Event) {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const dry = d.get('dry') === 'on';
    await this.attempt(() => api('POST', '/registry/system/gc/schedule', { schedule: { type: 'Manual' }, parameters: { dry_run: dry, delete_untagged: d.get('untagged') === 'on' } }),
      dry ? 'Dry run started.' : 'Garbage collection started.');
    await this.load();
  }

  async saveSchedule(e: Event) {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const type = String(d.get('type'));
    await this.attempt(() => api('PUT', '/registry/system/gc/schedule', { schedule: { type, cron: type === 'Custom' ? d.get('cron') : undefined },
      parameters: { delete_untagged: d.get('untagged') === 'on' } }), 'Schedule saved.');
    await this.load();
  }

  render() {
    const s = this.schedule?.schedule ?? {};
    return html`<h3>Garbage collection</h3>${this.banners()}
      <form class="row" aria-label="Run garbage collection" @submit=${this.run}>
        <label>Delete untagged artifacts <input type="checkbox" name="untagged"></label><label>Dry run <input type="checkbox" name="dry"></label>
        <button type="submit">Run GC now</button></form>
      <form class="row" aria-label="GC schedule" @submit=${this.saveSchedule}>
        <label>Schedule <select name="type">${scheduleTypes.map((t) => html`<option ?selected=${s.type === t}>${t}</option>`)}</select></label>
        <label>Cron (Custom) <input name="cron" placeholder="0 0 3 * * *" .value=${s.type === 'Custom' ? s.cron ?? '' : ''}></label>
        <label>Delete untagged <input type="checkbox" name="untagged" ?checked=${this.schedule?.parameters?.delete_untagged}></label>
        <button type="submit">Save schedule</button></form>
      <p class="schedule">Now: <b>${s.type ?? '…'}</b>${s.cron ? html` <code>${s.cron}</code>` : ''}${s.next_scheduled_time ? html`; next run ${s.next_scheduled_time}` : ''}</p>
      <h4>History</h4>
      <table class="gc-runs"><thead><tr><th>Id</th><th>Trigger</th><th>Status</th><th>Parameters</th><th>Started</th><th>Updated</th><th>Result</th></tr></thead><tbody>
      ${this.runs.map((r) => html`<tr data-run=${r.id} data-status=${r.job_status}><td>${r.id}</td><td>${r.job_kind}</td><td>${r.job_status}</td><td><code>${r.job_parameters}</code></td>
        <td>${r.creation_time}</td><td>${r.update_time}</td><td>${gcResult(r.result)}</td></tr>`)}</tbody></table>`;
  }
}
customElements.define('bv-gc', BvGc);

class BvStorageQuotas extends Page {
  static properties = { ...Page.properties, quotas: { state: true } };
  declare quotas: any[];

  constructor() { super(); this.quotas = []; }
  connectedCallback() { super.connectedCallback(); void this.load(); }

  async load() { await this.quietly(async () => { this.quotas = await api('GET', '/registry/quotas'); }); }

  async save(q: any, e: Event) {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const text = String(d.get('limit') ?? '').trim();
    const unit = Number(d.get('unit'));
    const storage = text === '' ? -1 : Math.round(Number(text) * unit);
    await this.attempt(() => api('PUT', `/registry/quotas/${q.id}`, { hard: { storage: Number.isFinite(storage) ? storage : NaN } }), `Quota of ${q.ref.name} saved.`);
    await this.load();
  }

  render() {
    return html`<h3>Storage quotas</h3>${this.banners()}<p>Pushes that would take a project over its limit are refused. Empty: no limit.</p>
      <table class="quotas"><thead><tr><th>Project</th><th>Used</th><th>Limit</th><th>Set the limit</th></tr></thead><tbody>
      ${this.quotas.map((q) => {
        const hard = q.hard?.storage ?? -1;
        const used = q.used?.storage ?? 0;
        return html`<tr data-project=${q.ref.name}><td>${q.ref.name}</td>
          <td>${bytes(used)}${hard > 0 ? html` <meter min="0" max=${hard} value=${used}></meter>` : ''}</td><td class="limit">${hard < 0 ? 'none' : bytes(hard)}</td>
          <td><form class="row" aria-label=${`Quota of ${q.ref.name}`} @submit=${(e: Event) => this.save(q, e)}>
            <input name="limit" aria-label="Limit" type="number" min="0" step="any" style="width:7em" .value=${hard < 0 ? '' : String(+(hard / 1048576).toFixed(2))}>
            <select name="unit" aria-label="Unit"><option value="1048576" selected>MiB</option><option value="1073741824">GiB</option></select>
            <button type="submit">Save</button></form></td></tr>`;
      })}</tbody></table>`;
  }
}
customElements.define('bv-storage-quotas', BvStorageQuotas);

class BvAudit extends Page {
  static properties = { ...Page.properties, project: { attribute: false }, logs: { state: true }, page: { state: true }, filters: { state: true } };
  /** One project's log, else every project the caller may read. */
  declare project: string | undefined;
  declare logs: any[];
  declare page: number;
  declare filters: Record<string, string>;

  constructor() { super(); this.logs = []; this.page = 1; this.filters = {}; }
  connectedCallback() { super.connectedCallback(); void this.load(); }

  async load() {
    const q = new URLSearchParams({ ...this.filters, page: String(this.page), page_size: '20' });
    for (const [k, v] of [...q]) if (!v) q.delete(k);
    const path = this.project ? `/registry/projects/${encodeURIComponent(this.project)}/logs` : '/registry/audit-logs';
    await this.quietly(async () => { this.logs = await api('GET', `${path}?${q}`); });
  }

  async filter(e: Event) {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    this.filters = { username: String(d.get('username') ?? ''), operation: String(d.get('operation') ?? ''), resource: String(d.get('resource') ?? '') };
    this.page = 1;
    this.error = '';
    await this.load();
  }

  async turn(by: number) { this.page = Math.max(1, this.page + by); await this.load(); }

  render() {
    return html`${this.project ? '' : html`<h3>Audit log</h3>`}${this.banners()}
      <form class="row" aria-label="Filter the audit log" @submit=${this.filter}>
        <label>User <input name="username" placeholder="contains"></label>
        <label>Operation <select name="operation"><option value="">any</option><option value="create">create (push)</option><option value="pull">pull</option><option value="delete">delete</option></select></label>
        <label>Resource <input name="resource" placeholder="contains, e.g. team/app"></label>
        <button type="submit">Filter</button></form>
      <table class="audit"><thead><tr><th>Time</th><th>User</th><th>Operation</th><th>Resource</th><th>Type</th></tr></thead><tbody>
      ${this.logs.map((l) => html`<tr data-operation=${l.operation}><td>${l.op_time}</td><td>${l.username}</td><td>${l.operation}</td><td><code>${l.resource}</code></td><td>${l.resource_type}</td></tr>`)}
      </tbody></table>${this.logs.length ? '' : html`<p>No entries.</p>`}
      <div class="row"><button class="secondary" ?disabled=${this.page <= 1} @click=${() => this.turn(-1)}>Newer</button><span>page ${this.page}</span>
        <button class="secondary" ?disabled=${this.logs.length < 20} @click=${() => this.turn(1)}>Older</button></div>`;
  }
}
customElements.define('bv-audit', BvAudit);
