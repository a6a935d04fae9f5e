// The portal's shell: login, navigation (hash routes), and the page for the current route.
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { LitElement, html } from 'lit';
import { api, type Me } from './api.ts';
import './dashboard.ts';
import './containers.ts';
import './container-detail.ts';
import './templates.ts';
import './projects.ts';
import './infrastructure.ts';
import './registry.ts';

class BvApp extends LitElement {
  static properties = { me: { state: true }, route: { state: true }, loginError: { state: true }, checked: { state: true } };
  declare me: Me | null;
  declare route: string;
  declare loginError: string;
  declare checked: boolean;

  constructor() {
    super();
    this.me = null;
    this.route = location.hash.slice(1) || '/dashboard';
    this.loginError = '';
    this.checked = false;
    window.addEventListener('hashchange', () => { this.route = location.hash.slice(1) || '/dashboard'; });
    window.addEventListener('bv-logged-out', () => { this.me = null; });
    void this.refreshMe();
  }

  createRenderRoot() { return this; }

  async refreshMe() {
    try { this.me = await api<Me>('GET', '/me'); } catch { this.me = null; }
    this.checked = true;
  }

  async login(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    try {
      await api('POST', '/login', { username: data.get('username'), password: data.get('password') });
      this.loginError = '';
      await this.refreshMe();
    } catch (err) {
      this.loginError = (err as Error).message;
    }
  }

  async logout() {
    await api('POST', '/logout');
    this.me = null;
  }

  page() {
    const [, section, ...rest] = this.route.split('/');
    const me = this.me!;
    switch (section) {
      case 'containers':
        return rest.length >= 2 ? html`<bv-container-detail .me=${me} .hostId=${decodeURIComponent(rest[0])} .containerId=${decodeURIComponent(rest[1])}></bv-container-detail>`
          : html`<bv-containers .me=${me}></bv-containers>`;
      case 'templates': return html`<bv-templates .me=${me}></bv-templates>`;
      case 'projects': return html`<bv-projects .me=${me}></bv-projects>`;
      case 'hosts': return html`<bv-hosts .me=${me}></bv-hosts>`;
      case 'networks': return html`<bv-networks .me=${me}></bv-networks>`;
      case 'volumes': return html`<bv-volumes .me=${me}></bv-volumes>`;
      case 'registry': return html`<bv-registry .me=${me} .path=${rest.map(decodeURIComponent)}></bv-registry>`;
      default: return html`<bv-dashboard .me=${me}></bv-dashboard>`;
    }
  }

  render() {
    if (!this.checked) return html``;
    if (!this.me) {
      return html`<main class="login"><form @submit=${this.login} aria-label="Log in">
        <h1>Bonneville</h1><p>One login for the portal and the registry.</p>
        <label>User name <input name="username" autocomplete="username" required></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        ${this.loginError ? html`<div class="error" role="alert">${this.loginError}</div>` : ''}
        <button type="submit">Log in</button></form></main>`;
    }
    const links: [string, string][] = [['/dashboard', 'Dashboard'], ['/hosts', 'Hosts'], ['/containers', 'Containers'], ['/templates', 'Templates'],
      ['/networks', 'Networks'], ['/volumes', 'Volumes'], ['/projects', 'Projects'], ['/registry', 'Registry']];
    const current = `/${this.route.split('/')[1]}`;
    return html`<header><strong>Bonneville</strong>
        <nav>${links.map(([href, label]) => html`<a href="#${href}" class=${current === href ? 'active' : ''}>${label}</a>`)}</nav>
        <span class="user">${this.me.username}${this.me.sysadmin ? ' (admin)' : ''} <button class="link" @click=${this.logout}>Log out</button></span></header>
      <main>${this.page()}</main>`;
  }
}
customElements.define('bv-app', BvApp);
