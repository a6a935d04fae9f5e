// One container: its configuration, a live stats chart, its logs (followed) and an exec console.
import { html } from 'lit';
import { Page } from './base.ts';
import { api, canOperate, type Me } from './api.ts';
import './chart.ts';
import './console.ts';

class BvContainerDetail extends Page {
  static properties = { ...Page.properties, me: { attribute: false }, hostId: { attribute: false }, containerId: { attribute: false },
    info: { state: true }, stats: { state: true }, logs: { state: true }, tab: { state: true } };
  declare me: Me;
  declare hostId: string;
  declare containerId: string;
  declare info: any;
  declare stats: { at: number; cpu: number; mem: number }[];
  declare logs: string[];
  declare tab: string;
  private logSource: EventSource | null = null;
  private timer = 0;

  constructor() {
    super();
    this.info = null;
    this.stats = [];
    this.logs = [];
    this.tab = 'logs';
  }

  get base() { return `/hosts/${encodeURIComponent(this.hostId)}/containers/${encodeURIComponent(this.containerId)}`; }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    this.followLogs();
    this.timer = window.setInterval(() => void this.sample(), 3000);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.logSource?.close();
    clearInterval(this.timer);
  }

  async load() { await this.quietly(async () => { this.info = await api('GET', this.base); }); }

  async sample() {
    if (!this.info?.State?.Running) return;
    try {
      const s = await api('GET', `${this.base}/stats`);
      if (s.running) this.stats = [...this.stats.slice(-59), { at: Date.parse(s.at) / 1000, cpu: s.cpuPercent, mem: s.memoryBytes / 1048576 }];
    } catch { /* a missed sample is a gap */ }
  }

  followLogs() {
    this.logSource?.close();
    this.logs = [];
    this.logSource = new EventSource(`/api${this.base}/logs?follow=1&tail=200`);
    this.logSource.onmessage = (e) => {
      this.logs = [...this.logs.slice(-999), JSON.parse(e.data) as string];
      queueMicrotask(() => { const pre = this.querySelector('pre.logs'); if (pre) pre.scrollTop = pre.scrollHeight; });
    };
    this.logSource.addEventListener('end', () => this.logSource?.close());
  }

  async act(action: string) {
    await this.attempt(() => action === 'remove' ? api('DELETE', this.base) : api('POST', `${this.base}/${action}`), `${action} done`);
    if (action === 'remove') { location.hash = '#/containers'; return; }
    await this.load();
    if (action !== 'stop') this.followLogs();
  }

  render() {
    const i = this.info;
    if (!i) return html`${this.banners()}<p>Loading…</p>`;
    const project = i.Config?.Labels?.['bonneville.portal.project'] ?? null;
    const ok = canOperate(this.me, project);
    const tabs = ['logs', 'console', 'stats', 'config'];
    return html`<h2>${String(i.Name).replace(/^\//, '')} <small class="state-${i.State?.Status}">${i.State?.Status}</small></h2>${this.banners()}
      <p>Image <code>${i.Config?.Image}</code> · id <code>${String(i.Id).slice(0, 12)}</code> · project ${project ?? '—'}</p>
      <div class="row">${ok ? html`<button class="secondary" ?disabled=${i.State?.Running} @click=${() => this.act('start')}>Start</button>
        <button class="secondary" ?disabled=${!i.State?.Running} @click=${() => this.act('stop')}>Stop</button>
        <button class="secondary" @click=${() => this.act('restart')}>Restart</button>
        <button class="danger" @click=${() => this.act('remove')}>Remove</button>` : html`<span>View only (your role cannot change this container).</span>`}</div>
      <div class="tabs">${tabs.map((t) => html`<a href="javascript:void 0" class=${this.tab === t ? 'active' : ''} @click=${() => { this.tab = t; }}>${t}</a>`)}</div>
      ${this.tab === 'logs' ? html`<pre class="logs">${this.logs.join('\n')}</pre>` : ''}
      ${this.tab === 'console' ? (ok && i.State?.Running ? html`<bv-console .path=${`/api${this.base}/console`}></bv-console>`
        : html`<p>${ok ? 'The console needs a running container.' : 'Viewers cannot open a console.'}</p>`) : ''}
      ${this.tab === 'stats' ? html`<bv-chart .labels=${['CPU %', 'Memory MiB']} .units=${['%', 'MiB']}
        .data=${[this.stats.map((s) => s.at), this.stats.map((s) => s.cpu), this.stats.map((s) => s.mem)]}></bv-chart>` : ''}
      ${this.tab === 'config' ? html`<pre class="config">${JSON.stringify({ Config: i.Config, HostConfig: i.HostConfig, NetworkSettings: i.NetworkSettings, State: i.State }, null, 2)}</pre>` : ''}`;
  }
}
customElements.define('bv-container-detail', BvContainerDetail);
