// A time series chart (uPlot): x in seconds, one or two y series.
import { LitElement, html } from 'lit';
import uPlot from 'uplot';

class BvChart extends LitElement {
  static properties = { data: { attribute: false }, labels: { attribute: false }, units: { attribute: false } };
  declare data: number[][];
  declare labels: string[];
  declare units: string[];
  private plot: uPlot | null = null;

  constructor() {
    super();
    this.data = [[]];
    this.labels = [];
    this.units = [];
  }

  createRenderRoot() { return this; }

  render() { return html`<div class="chart"></div>`; }

  updated() {
    const el = this.querySelector('.chart') as HTMLElement;
    if (!this.plot) {
      const colors = ['#1d70b8', '#d4351c'];
      this.plot = new uPlot({
        width: Math.max(300, el.clientWidth || 320), height: 160,
        series: [{}, ...this.labels.map((label, i) => ({ label, stroke: colors[i % 2], scale: this.units[i] ?? 'y' }))],
        axes: [{}, ...this.labels.map((_l, i) => ({ scale: this.units[i] ?? 'y', side: i === 0 ? 3 : 1, label: this.units[i] }))],
      }, this.data as uPlot.AlignedData, el);
    } else {
      this.plot.setData(this.data as uPlot.AlignedData);
    }
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.plot?.destroy();
    this.plot = null;
  }
}
customElements.define('bv-chart', BvChart);
