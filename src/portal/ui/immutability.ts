// A project's immutability rules: tags matching the tag patterns, in repositories matching the
// repository patterns, cannot be pushed over or deleted. Several patterns (comma-separated) make a
// rule per pair, so one form covers several scopes.
import { html } from 'lit';
import { Page } from './base.ts';
import { api } from './api.ts';

class BvImmutability extends Page {
  static properties = { ...Page.properties, project: { attribute: false }, canManage: { attribute: false }, rules: { state: true } };
  declare project: string;
  declare canManage: boolean;
  declare rules: any[];

  constructor() { super(); this.rules = []; this.canManage = false; }
  connectedCallback() { super.connectedCallback(); void this.load(); }

  get base() { return `/registry/projects/${encodeURIComponent(this.project)}/immutabletagrules`; }

  async load() { await this.quietly(async () => { this.rules = await api('GET', this.base); }); }

  async add(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    const r = await this.attempt(() => api<{ rules: number }>('POST', this.base, { tag_selectors: [{ decoration: 'matches', pattern: d.get('tags') }],
      scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: d.get('repos') || '**' }] } }));
    if (r) { this.notice = r.rules === 1 ? 'Rule added.' : `${r.rules} rules added.`; form.reset(); }
    await this.load();
  }

  async removeRule(rule: any) {
    await this.attempt(() => api('DELETE', `${this.base}/${rule.id}`), 'Rule removed.');
    await this.load();
  }

  render() {
    return html`${this.banners()}
      <table class="immutability"><thead><tr><th>Repositories</th><th>Tags</th><th></th></tr></thead><tbody>
      ${this.rules.map((r) => {
        const repo = r.scope_selectors?.repository?.[0]?.pattern ?? '**';
        const tag = r.tag_selectors?.[0]?.pattern ?? '';
        return html`<tr data-rule=${`${repo}:${tag}`}><td><code>${repo}</code></td><td><code>${tag}</code></td>
          <td>${this.canManage ? html`<button class="danger" @click=${() => this.removeRule(r)}>Remove</button>` : ''}</td></tr>`;
      })}</tbody></table>${this.rules.length ? '' : html`<p>No rules: every tag can be pushed over and deleted.</p>`}
      ${this.canManage ? html`<form class="row" aria-label="Add an immutability rule" @submit=${this.add}>
        <label>Repositories <input name="repos" placeholder="** or app,tools/**"></label>
        <label>Tags <input name="tags" required placeholder="v* or release-*,stable"></label>
        <button type="submit">Add rule</button></form><p><small>Doublestar patterns; separate several with commas.</small></p>` : ''}`;
  }
}
customElements.define('bv-immutability', BvImmutability);
