// `npm run bench`: every benchmark, one after another (each starts its own peers and stops them).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// scale.ts runs only the sections BENCH_SCALE names (minutes each); vsphere-scale.ts only with BENCH_SCALE=vsphere.
const BENCHMARKS = ['engine.ts', 'pull.ts', 'registry.ts', 'scale.ts', 'vsphere-scale.ts'];

let failed = 0;
for (const file of BENCHMARKS) {
  const path = join(here, file);
  if (!existsSync(path)) continue;
  console.log(`\n== ${file.replace(/\.ts$/, '')} ==`);
  const result = spawnSync(process.execPath, [path], { stdio: 'inherit', env: { ...process.env, BENCH_FROM_RUN: '1' } });
  if (result.status !== 0) {
    failed++;
    console.log(`${file} failed (exit ${result.status ?? result.signal})`);
  }
}
process.exitCode = failed ? 1 : 0;
