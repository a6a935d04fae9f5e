// Builds the portal's UI bundle into build/portal (called by scripts/setup.sh; `portal serve` builds it when missing).
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPortalUi } from '../src/portal/build-ui.ts';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../build/portal');
await buildPortalUi(out);
console.log(`portal UI built in ${out}`);
