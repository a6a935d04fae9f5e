// Pages render into the light DOM, so the one stylesheet (and xterm's) applies everywhere.
import { LitElement, html } from 'lit';

export class Page extends LitElement {
  static properties = { error: { state: true }, notice: { state: true } };
  declare error: string;
  declare notice: string;

  constructor() {
    super();
    this.error = '';
    this.notice = '';
  }

  createRenderRoot() { return this; }

  /** Runs an action; its failure shows as the page's error banner (the API's message). */
  async attempt<T>(work: () => Promise<T>, notice?: string): Promise<T | undefined> {
    this.error = '';
    try {
      const r = await work();
      if (notice) this.notice = notice;
      return r;
    } catch (err) {
      this.error = (err as Error).message;
      this.notice = '';
      return undefined;
    }
  }

  /** Loads data; a failure shows as the error banner, but success leaves an action's error in place. */
  async quietly(work: () => Promise<void>): Promise<void> {
    try { await work(); } catch (err) { this.error = (err as Error).message; }
  }

  private loads = 0;

  /**
   * Loads data and applies it unless a newer load began meanwhile: a slow answer for the previous route,
   * or from before an action, must not overwrite a newer one.
   */
  async loadLatest<T>(fetch: () => Promise<T>, apply: (data: T) => void): Promise<void> {
    const mine = ++this.loads;
    await this.quietly(async () => {
      const data = await fetch();
      if (mine === this.loads) apply(data);
    });
  }

  banners() {
    return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : ''}${this.notice ? html`<div class="notice">${this.notice}</div>` : ''}`;
  }
}
