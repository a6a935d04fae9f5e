// An exec console: xterm.js over the portal's websocket; keystrokes and size changes go up as JSON.
import { LitElement, html } from 'lit';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

class BvConsole extends LitElement {
  static properties = { path: { attribute: false } };
  declare path: string;
  private term: Terminal | null = null;
  private ws: WebSocket | null = null;
  private observer: ResizeObserver | null = null;

  createRenderRoot() { return this; }

  render() { return html`<div class="console-pane" data-testid="terminal"></div>`; }

  firstUpdated() {
    const el = this.querySelector(".console-pane") as HTMLElement;
    const term = new Terminal({ cursorBlink: true, fontSize: 14, convertEol: false });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    this.term = term;
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${this.path}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const send = (msg: unknown) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
    ws.onopen = () => { send({ type: 'resize', cols: term.cols, rows: term.rows }); term.focus(); };
    ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer));
    ws.onclose = (e) => term.write(`\r\n[console closed${e.reason ? `: ${e.reason}` : ''}]\r\n`);
    term.onData((data) => send({ type: 'input', data }));
    term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));
    this.observer = new ResizeObserver(() => fit.fit());
    this.observer.observe(el);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.observer?.disconnect();
    this.ws?.close();
    this.term?.dispose();
  }
}
customElements.define('bv-console', BvConsole);
