// The admin page's HTML, rendered on the server. Every value from outside (names, log text, error
// messages) goes through escapeHtml; the only script is /assets/admin.js, which follows logs.
import type { VchStatus } from './status.ts';
import type { ContainerView } from '../portlayer/containers/model.ts';

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', `${s}s`].filter(Boolean).join(' ');
}

/** Who is signed in, as the header shows it. */
export interface Viewer {
  how: 'certificate' | 'password';
  subject?: string;
}

function layout(title: string, vchName: string, body: string, viewer?: Viewer): string {
  const nav = viewer ? `
  <nav aria-label="Admin sections">
    <a href="/">Status</a>
    <a href="/logs">Engine log</a>
    <a href="/bundle" download>Download log bundle</a>
    <span class="who">${viewer.how === 'certificate' ? `Signed in with client certificate ${escapeHtml(viewer.subject ?? '')}` : 'Signed in with the admin password'}</span>
    ${viewer.how === 'password' ? '<form method="post" action="/logout" class="logout"><button type="submit">Log out</button></form>' : ''}
  </nav>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — VCH ${escapeHtml(vchName)}</title>
<link rel="stylesheet" href="/assets/admin.css">
<script src="/assets/admin.js" defer></script>
</head>
<body>
<header><h1>VCH <span class="vch">${escapeHtml(vchName)}</span> — ${escapeHtml(title)}</h1>${nav}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function loginPage(vchName: string, error?: string): string {
  return layout('Sign in', vchName, `
<p>Sign in with the VCH's client certificate (your browser offers it when it has one), or with the admin password
(in <code>admin.password</code> in the VCH's datastore, readable by root only).</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login" class="login">
  <label for="password">Admin password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>`);
}

function table(caption: string, rows: Array<[string, string]>, id: string): string {
  return `<section aria-labelledby="${id}"><h2 id="${id}">${escapeHtml(caption)}</h2><table>
${rows.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')}
</table></section>`;
}

function containerState(c: ContainerView): string {
  if (c.state.status === 'running' && c.state.paused) return 'paused';
  if (c.state.status === 'exited') return `exited (${c.state.exitCode})`;
  return c.state.status;
}

export function containerTable(containers: ContainerView[]): string {
  if (containers.length === 0) return '<p>No containers.</p>';
  return `<table class="containers">
<thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">State</th><th scope="col">Console</th></tr></thead>
<tbody>
${containers.map((c) => `<tr><td>${escapeHtml(c.record.spec.name)}</td><td><code>${escapeHtml(c.record.id.slice(0, 12))}</code></td><td>${escapeHtml(containerState(c))}</td><td><a href="/containers/${encodeURIComponent(c.record.id)}">console log of ${escapeHtml(c.record.spec.name)}</a></td></tr>`).join('\n')}
</tbody>
</table>`;
}

export function statusPage(status: VchStatus, containers: ContainerView[], viewer: Viewer): string {
  const e = status.engine;
  const s = status.storage;
  const l = status.limits;
  const cg = l.cgroup;
  const rows: Array<[string, string]> = [
    ['Version', e.version],
    ['Up since', `${e.startedAt} (${formatDuration(e.uptimeSeconds)})`],
    ['Backend', e.backend],
    ['Accelerator', e.accelerator],
    ['Guest kernel', e.guestKernel],
    ['Host kernel', e.hostKernel],
    ['Node.js', e.node],
  ];
  // The backend's own lines for `docker info`, less those already shown.
  const engine = table('Engine', [...rows, ...e.details.filter(([k]) => !rows.some(([shown]) => shown === k))], 'engine');
  const counts = table('Containers', [
    ['Total', String(status.containers.total)],
    ['Running', String(status.containers.running)],
    ['Paused', String(status.containers.paused)],
    ['Stopped', String(status.containers.stopped)],
    ['Images', String(status.containers.images)],
  ], 'container-counts');
  const registries = `<section aria-labelledby="registries"><h2 id="registries">Registries</h2>
${status.registries.length === 0 ? '<p>No registries configured.</p>' : `<table>
<thead><tr><th scope="col">Registry</th><th scope="col">Checked</th><th scope="col">Reachable</th><th scope="col">Answer</th></tr></thead>
<tbody>
${status.registries.map((r) => `<tr class="${r.reachable ? 'ok' : 'bad'}"><td>${escapeHtml(r.registry)}</td><td><code>GET ${escapeHtml(r.url)}</code></td><td>${r.reachable ? 'reachable' : 'unreachable'}</td><td>${escapeHtml(r.reachable ? `HTTP ${r.status}` : r.error ?? '')}</td></tr>`).join('\n')}
</tbody></table>`}</section>`;
  const storage = table('Storage', [
    ['Datastore', s.datastore],
    ['Filesystem size', formatBytes(s.totalBytes)],
    ['Filesystem used', formatBytes(s.usedBytes)],
    ['Filesystem free', formatBytes(s.freeBytes)],
    ...s.parts.map((p): [string, string] => [`Datastore ${p.part}`, `${formatBytes(p.allocatedBytes)} on disk (${formatBytes(p.apparentBytes)} apparent)`]),
  ], 'storage');
  const limits = table('Limits', [
    ['Default container VM memory', `${l.defaultVmMemoryMiB} MiB`],
    ['Default container VM CPUs', String(l.defaultVmCpus)],
    ['Host CPUs', String(l.hostCpus)],
    ['Host memory', formatBytes(l.hostMemoryBytes)],
    ['Engine cgroup', cg.version === 'none' ? 'none' : `${cg.version} ${cg.path ?? ''}`],
    ['Cgroup memory limit', cg.memoryBytes === undefined ? 'none' : formatBytes(cg.memoryBytes)],
    ['Cgroup CPU limit', cg.cpus === undefined ? 'none' : `${cg.cpus.toFixed(2)} CPUs`],
  ], 'limits');
  const list = `<section aria-labelledby="container-list"><h2 id="container-list">Container VMs</h2>${containerTable(containers)}</section>`;
  return layout('Status', e.name, `<div class="grid">${engine}${counts}${storage}${limits}</div>${registries}${list}`, viewer);
}

export function logPage(vchName: string, title: string, streamUrl: string, viewer: Viewer, note = ''): string {
  return layout(title, vchName, `
${note ? `<p>${note}</p>` : ''}
<p class="follow-state" role="status" data-follow-state>Connecting…</p>
<pre class="log" tabindex="0" aria-label="${escapeHtml(title)}" data-follow="${escapeHtml(streamUrl)}"></pre>`, viewer);
}

export function notFoundPage(vchName: string, what: string, viewer: Viewer): string {
  return layout('Not found', vchName, `<p>${escapeHtml(what)}</p>`, viewer);
}
