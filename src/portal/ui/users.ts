// Users (system administrators): create, grant or revoke administrator rights, delete. One user store
// for the portal and the registry. Other callers never see this page; the API refuses them too.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, type Me } from './api.ts';

class BvUsers extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, users: { state: true } };
  declare me: Me;
  declare users: any[];

  constructor() { super(); this.users = []; }
  connectedCallback() { super.connectedCallback(); void this.load(); }

  async load() { await this.quietly(async () => { this.users = await api('GET', '/registry/users'); }); }

  async act(work: () => Promise<unknown>, notice: string) {
    const ok = await this.attempt(work, notice);
    await this.load();
    return ok;
  }

  async create(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    const ok = await this.act(() => api('POST', '/registry/users', { username: d.get('username'), password: d.get('password'), email: d.get('email') ?? '', realname: d.get('realname') ?? '' }),
      `User ${String(d.get('username'))} created.`);
    if (ok !== undefined) form.reset();
  }

  render() {
    return html`<h3>Users</h3>${this.banners()}
      <form class="row" aria-label="Create a user" @submit=${this.create}>
        <label>User name <input name="username" required></label><label>Password <input name="password" type="password" required autocomplete="new-password"></label>
        <label>Email <input name="email" type="email"></label><label>Full name <input name="realname"></label><button type="submit">Create user</button></form>
      <table class="users"><thead><tr><th>User</th><th>Email</th><th>Administrator</th><th>Created</th><th></th></tr></thead><tbody>
      ${this.users.map((u) => {
        const self = u.username === this.me.username;
        return html`<tr data-user=${u.username}><td>${u.username}${u.realname ? html` <small>(${u.realname})</small>` : ''}</td><td>${u.email}</td>
          <td class="admin">${u.sysadmin_flag ? 'yes' : 'no'}</td><td>${u.creation_time}</td>
          <td>${self ? html`<small>you</small>` : html`<button class="secondary" @click=${() => this.act(() => api('PUT', `/registry/users/${u.user_id}/sysadmin`, { sysadmin_flag: !u.sysadmin_flag }),
            u.sysadmin_flag ? `${u.username} is no longer an administrator.` : `${u.username} is an administrator.`)}>${u.sysadmin_flag ? 'Revoke admin' : 'Make admin'}</button>
            <button class="danger" @click=${() => this.act(() => api('DELETE', `/registry/users/${u.user_id}`), `User ${u.username} deleted.`)}>Delete</button>`}</td></tr>`;
      })}</tbody></table>`;
  }
}
customElements.define('bv-users', BvUsers);
