// The registry (Harbor's UI) over its /api/v2.0, proxied by the portal with the user's credentials:
// projects, repositories, artifacts and tags, members, robots, immutability, retention, logs;
// replication, garbage collection, quotas, the audit log and users.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, bytes, roleIn, type Me } from './api.ts';
import './replication.ts';
import './registry-system.ts';
import './users.ts';
import './immutability.ts';

const enc = encodeURIComponent;
const roles: Record<number, string> = { 1: 'projectAdmin', 2: 'developer', 3: 'guest', 4: 'maintainer', 5: 'limitedGuest' };

/** A table of whatever objects the registry answered: scalars shown, nested values as JSON. */
function table(rows: any[], actions?: (row: any) => unknown) {
  if (!rows?.length) return html`<p>None.</p>`;
  const cols = Object.keys(rows[0]).filter((k) => k !== 'secret');
  return html`<table class="generic"><thead><tr>${cols.map((c) => html`<th>${c}</th>`)}${actions ? html`<th></th>` : ''}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${cols.map((c) => html`<td>${typeof r[c] === 'object' && r[c] !== null ? JSON.stringify(r[c]) : String(r[c] ?? '')}</td>`)}
      ${actions ? html`<td>${actions(r)}</td>` : ''}</tr>`)}</tbody></table>`;
}

class BvRegistry extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, path: { attribute: false }, data: { state: true }, secret: { state: true } };
  declare me: Me;
  declare path: string[];
  declare data: Record<string, any>;
  declare secret: string;
  private loadedFor = '';

  constructor() { super(); this.path = []; this.data = {}; this.secret = ''; }

  willUpdate() {
    const key = this.path.join('/');
    if (key !== this.loadedFor) { this.loadedFor = key; this.data = {}; this.secret = ''; this.error = ''; void this.load(); }
  }

  get project() { return this.path[1] ?? ''; }

  async load() {
    const [section, project, tab, repo] = this.path;
    const get = (p: string) => api('GET', `/registry${p}`);
    await this.loadLatest(async () => {
      const d: Record<string, any> = { info: await api('GET', '/registry-info') };
      if (!section || section === 'projects') {
        if (!project) d.projects = await get('/projects');
        else if (!tab || tab === 'repositories') {
          d.repositories = await get(`/projects/${enc(project)}/repositories`);
          if (repo) d.artifacts = await get(`/projects/${enc(project)}/repositories/${enc(enc(repo))}/artifacts`);
        } else if (tab === 'members') d.members = await get(`/projects/${enc(project)}/members`);
        else if (tab === 'robots') d.robots = (await get('/robots')).filter((r: any) => String(r.name).startsWith(`robot$${project}+`));
        else if (tab === 'retention') {
          d.projectInfo = await get(`/projects/${enc(project)}`);
          d.retention = await get(`/projects/${enc(project)}/retention`).catch(() => null);
          if (d.retention) d.retentionRuns = await get(`/retentions/${d.retention.id}/executions`);
        }
        else if (tab === 'summary') d.summary = await get(`/projects/${enc(project)}/summary`);
      }
      return d;
    }, (d) => { this.data = d; });
  }

  /** A registry call from a form; the page reloads after it. */
  async call(method: string, path: string, body?: unknown, notice?: string) {
    const r = await this.attempt(() => api(method, `/registry${path}`, body), notice ?? 'Done.');
    await this.load();
    return r;
  }

  form(e: Event): FormData { e.preventDefault(); return new FormData(e.target as HTMLFormElement); }

  render() {
    const [section = 'projects', project, tab = 'repositories', repo] = this.path;
    // Replication, GC, quotas and users are the system administrators' (the API refuses others too).
    const sections: [string, string][] = [['projects', 'Projects'], ['audit', 'Audit log'],
      ...(this.me.sysadmin ? [['replication', 'Replication'], ['gc', 'Garbage collection'], ['quotas', 'Quotas'], ['users', 'Users']] as [string, string][] : [])];
    return html`<h2>Registry <small><code>${this.data.info?.host ?? ''}</code></small></h2>
      <nav class="tabs">${sections.map(([s, label]) => html`<a href="#/registry/${s}" class=${section === s ? 'active' : ''}>${label}</a>`)}</nav>
      ${this.banners()}
      ${this.secret ? html`<div class="notice" role="status">Robot secret (shown once): <code class="robot-secret">${this.secret}</code></div>` : ''}
      ${section === 'projects' && !project ? this.projects() : ''}
      ${section === 'projects' && project ? this.projectPage(project, tab, repo) : ''}
      ${section === 'replication' ? html`<bv-replication></bv-replication>` : ''}
      ${section === 'gc' ? html`<bv-gc></bv-gc>` : ''}
      ${section === 'quotas' ? html`<bv-storage-quotas></bv-storage-quotas>` : ''}
      ${section === 'audit' ? html`<bv-audit></bv-audit>` : ''}
      ${section === 'users' ? html`<bv-users .me=${this.me}></bv-users>` : ''}`;
  }

  projects() {
    return html`<form class="row" @submit=${(e: Event) => { const d = this.form(e); void this.call('POST', '/projects', { project_name: d.get('name'), metadata: { public: String(d.get('public') === 'on') } }, 'Project created.'); }}>
        <label>New project <input name="name" required></label><label>Public <input type="checkbox" name="public"></label><button type="submit">Create</button></form>
      <table class="registry-projects"><thead><tr><th>Project</th><th>Public</th><th>Repositories</th><th>Your role</th><th>Created</th></tr></thead><tbody>
      ${(this.data.projects ?? []).map((p: any) => html`<tr><td><a href="#/registry/projects/${enc(p.name)}">${p.name}</a></td><td>${p.public ? 'yes' : 'no'}</td>
        <td>${p.repo_count}</td><td>${roles[p.current_user_role_id] ?? (this.me.sysadmin ? 'system admin' : '—')}</td><td>${p.creation_time}</td></tr>`)}</tbody></table>`;
  }

  projectPage(project: string, tab: string, repo?: string) {
    const tabs = ['repositories', 'members', 'robots', 'immutability', 'retention', 'logs', 'summary'];
    const base = `#/registry/projects/${enc(project)}`;
    return html`<h3>Project ${project}</h3>
      <nav class="tabs">${tabs.map((t) => html`<a href="${base}/${t}" class=${tab === t ? 'active' : ''}>${t}</a>`)}</nav>
      ${tab === 'repositories' ? this.repositories(project, repo) : ''}
      ${tab === 'members' ? html`${table(this.data.members, (m) => html`<button class="danger" @click=${() => this.call('DELETE', `/projects/${enc(project)}/members/${m.id}`)}>Remove</button>`)}
        <form class="row" @submit=${(e: Event) => { const d = this.form(e); void this.call('POST', `/projects/${enc(project)}/members`, { role_id: Number(d.get('role')), member_user: { username: d.get('username') } }, 'Member added.'); }}>
        <label>User <input name="username" required></label><label>Role <select name="role">${Object.entries(roles).map(([id, n]) => html`<option value=${id}>${n}</option>`)}</select></label>
        <button type="submit">Add member</button></form>` : ''}
      ${tab === 'robots' ? html`${table(this.data.robots, (r) => html`<button class="danger" @click=${() => this.call('DELETE', `/robots/${r.id}`)}>Delete</button>`)}
        <form class="row" aria-label="Create a robot" @submit=${async (e: Event) => {
          const d = this.form(e);
          const access = d.getAll('action').map((action) => ({ resource: 'repository', action }));
          const r = await this.call('POST', '/robots', { name: d.get('name'), duration: -1, permissions: [{ kind: 'project', namespace: project, access }] }, 'Robot created.');
          if (r?.secret) this.secret = r.secret;
        }}><label>Robot name <input name="name" required pattern="[a-z0-9]+([._-][a-z0-9]+)*"></label>
        <label>pull <input type="checkbox" name="action" value="pull" checked></label><label>push <input type="checkbox" name="action" value="push"></label>
        <button type="submit">Create robot</button></form>` : ''}
      ${tab === 'immutability' ? html`<bv-immutability .project=${project} .canManage=${roleIn(this.me, project) === 'admin'}></bv-immutability>` : ''}
      ${tab === 'retention' ? this.retention() : ''}
      ${tab === 'logs' ? html`<bv-audit .project=${project}></bv-audit>` : ''}
      ${tab === 'summary' ? html`<pre>${JSON.stringify(this.data.summary, null, 2)}</pre>` : ''}`;
  }

  retention() {
    // Until the project's page is loaded there is nothing to show (and the form would need its id).
    if (!this.data.projectInfo) return html`<p>Loading…</p>`;
    const policy = this.data.retention;
    if (!policy) {
      return html`<p>No retention policy: every tag is kept.</p>
        <form class="row" aria-label="Create a retention policy" @submit=${(e: Event) => {
          const d = this.form(e);
          void this.call('POST', '/retentions', { algorithm: 'or', scope: { level: 'project', ref: this.data.projectInfo.project_id },
            trigger: { kind: 'Schedule', settings: { cron: String(d.get('cron') ?? '') } },
            rules: [{ action: 'retain', template: 'latestPushedK', params: { latestPushedK: Number(d.get('n')) },
              tag_selectors: [{ decoration: 'matches', pattern: d.get('tags') || '**' }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: d.get('repos') || '**' }] } }] }, 'Retention policy created.');
        }}><label>Keep the latest <input name="n" type="number" min="0" value="3" style="width:4em"></label>
        <label>tags matching <input name="tags" placeholder="**"></label><label>in repositories <input name="repos" placeholder="**"></label>
        <label>Schedule (cron, optional) <input name="cron" placeholder="0 0 3 * * *"></label><button type="submit">Create policy</button></form>`;
    }
    return html`${table(policy.rules)}<p>Schedule: <code>${policy.trigger?.settings?.cron || 'none'}</code></p>
      <div class="row"><button class="secondary" @click=${() => this.call('POST', `/retentions/${policy.id}/executions`, { dry_run: true }, 'Dry run started.')}>Dry run</button>
      <button @click=${() => this.call('POST', `/retentions/${policy.id}/executions`, { dry_run: false }, 'Retention run started.')}>Run now</button>
      <button class="danger" @click=${() => this.call('DELETE', `/retentions/${policy.id}`, undefined, 'Policy deleted.')}>Delete policy</button></div>
      <h4>Runs</h4>${table(this.data.retentionRuns)}`;
  }

  repositories(project: string, repo?: string) {
    const host = this.data.info?.host ?? '';
    return html`<table class="repositories"><thead><tr><th>Repository</th><th>Artifacts</th><th>Created</th><th></th></tr></thead><tbody>
      ${(this.data.repositories ?? []).map((r: any) => {
        const short = String(r.name).slice(project.length + 1);
        return html`<tr><td><a href="#/registry/projects/${enc(project)}/repositories/${enc(short)}">${r.name}</a></td><td>${r.artifact_count}</td><td>${r.creation_time}</td>
          <td><button class="danger" @click=${() => this.call('DELETE', `/projects/${enc(project)}/repositories/${enc(enc(short))}`, undefined, 'Repository deleted.')}>Delete</button></td></tr>`;
      })}</tbody></table>
      ${repo ? html`<h4>${project}/${repo}</h4><table class="artifacts"><thead><tr><th>Digest</th><th>Tags</th><th>Size</th><th>Pushed</th><th>Pull command</th></tr></thead><tbody>
        ${(this.data.artifacts ?? []).map((a: any) => html`<tr><td><code>${String(a.digest).slice(0, 19)}…</code></td>
          <td>${(a.tags ?? []).map((t: any) => html`<div class="tag" data-tag=${t.name}>${t.name}
            <button class="danger" @click=${async () => { await this.attempt(() => api('DELETE', `/registry-tags/${enc(project)}/${repo.split('/').map(enc).join('/')}?tag=${enc(t.name)}`), `Tag ${t.name} deleted.`); await this.load(); }}>Delete tag</button></div>`)}</td>
          <td>${bytes(a.size)}</td><td>${a.push_time}</td>
          <td><code class="pull">docker pull ${host}/${project}/${repo}${a.tags?.[0] ? `:${a.tags[0].name}` : `@${a.digest}`}</code></td></tr>`)}</tbody></table>` : ''}`;
  }
}
customElements.define('bv-registry', BvRegistry);
