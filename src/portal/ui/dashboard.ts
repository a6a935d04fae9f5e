// Dashboard: containers per host, and each host's CPU / memory use over time.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, type Me } from './api.ts';
import './chart.ts';

interface HostUsage { id: string; name: string; containers: number; running: number; usage: { at: number; cpuPercent: number; memoryBytes: number }[] }

class BvDashboard extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, hosts: { state: true } };
  declare me: Me;
  declare hosts: HostUsage[];
  private timer = 0;

  constructor() { super(); this.hosts = []; }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    this.timer = window.setInterval(() => void this.load(), 5000);
  }

  disconnectedCallback() { super.disconnectedCallback(); clearInterval(this.timer); }

  async load() { await this.quietly(async () => { this.hosts = await api('GET', '/dashboard'); }); }

  render() {
    return html`<h2>Dashboard</h2>${this.banners()}
      <div class="cards">${this.hosts.map((h) => html`<section class="card" data-host=${h.id}>
        <h3>${h.name}</h3><p><span class="count">${h.containers}</span> containers, ${h.running} running</p>
        ${h.usage.length ? html`<bv-chart .labels=${['CPU %', 'Memory MiB']} .units=${['%', 'MiB']}
          .data=${[h.usage.map((u) => u.at / 1000), h.usage.map((u) => u.cpuPercent), h.usage.map((u) => u.memoryBytes / 1048576)]}></bv-chart>`
          : html`<p class="muted">Use over time appears after the first samples (administrators).</p>`}
      </section>`)}</div>
      ${this.hosts.length === 0 ? html`<p>No hosts visible to you. Administrators add hosts and place projects on them.</p>` : ''}`;
  }
}
customElements.define('bv-dashboard', BvDashboard);
