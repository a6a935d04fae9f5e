// Bundles the portal's UI (Lit components, xterm.js, uPlot) with esbuild into one directory:
// index.html, app.js, app.css.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const INDEX = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bonneville portal</title><link rel="stylesheet" href="/app.css"></head>
<body><bv-app></bv-app><script type="module" src="/app.js"></script></body></html>
`;

export async function buildPortalUi(outDir: string): Promise<void> {
  const out = resolve(outDir);
  // Built beside, then renamed into place: a server never serves a half-written bundle.
  const work = `${out}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  await build({
    entryPoints: { app: join(here, 'ui', 'app.ts') },
    bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: false,
    outdir: work, loader: { '.css': 'css' }, logLevel: 'warning',
  });
  writeFileSync(join(work, 'index.html'), INDEX);
  mkdirSync(dirname(out), { recursive: true });
  rmSync(out, { recursive: true, force: true });
  renameSync(work, out);
}

if (import.meta.main) {
  const out = process.argv[2] ?? resolve(here, '../../build/portal');
  buildPortalUi(out).then(() => console.log(`portal UI built in ${out}`), (err: unknown) => { console.error(err); process.exit(1); });
}
