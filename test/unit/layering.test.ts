// Dependencies point one way, down: engine → portlayer → backends → tether (backends share
// tether-vm, the plumbing of any backend whose VMs run the tether); registry and engine
// share only leaf helpers (pki, match). Checked here, not by
// comment: every relative import in src/ is read and compared with the allowed directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { repoRoot } from '../helpers/vch.ts';

const src = join(repoRoot, 'src');

/** What each part may import besides itself. */
const ALLOWED: Record<string, string[]> = {
  engine: ['portlayer', 'match'],
  portlayer: [],
  'backends/qemu': ['portlayer', 'tether', 'backends/tether-vm'],
  'backends/tether-vm': ['portlayer', 'tether'],
  'backends/fake': ['portlayer'],
  'backends/vsphere': ['portlayer', 'vim25', 'tether', 'backends/tether-vm'],
  vim25: [],
  tether: [],
  registry: ['pki', 'match'],
  pki: [],
  match: [],
  // Operator tools above the engine: they drive VCHs and the registry from outside, through their APIs.
  lifecycle: ['engine', 'portlayer', 'backends/qemu', 'backends/vsphere', 'vim25', 'pki'],
  vicadmin: ['engine', 'portlayer', 'pki'],
  portal: ['pki', 'portlayer'],
  cli: ['engine', 'portlayer', 'backends/qemu', 'backends/vsphere', 'registry', 'pki', 'tether', 'lifecycle', 'vicadmin', 'portal'],
};

function partOf(file: string): string {
  const rel = relative(src, file);
  const [top, second] = rel.split('/');
  return top === 'backends' ? `backends/${second}` : top;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

test('imports respect the layering', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = partOf(file);
    const allowed = ALLOWED[from];
    assert.ok(allowed, `unknown part ${from} (${relative(repoRoot, file)}): add it to the layering table`);
    for (const match of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
      const target = partOf(resolve(dirname(file), match[1]));
      if (target !== from && !allowed.includes(target)) violations.push(`${relative(repoRoot, file)} imports ${match[1]} (${from} → ${target})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the port layer runs no host disk tool: disks are the backend disk store\'s', () => {
  const tools = /\b(?:spawn|execFile|run)\w*\(\s*'(mke2fs|e2fsck|fuse2fs|debugfs|mount|umount|losetup|qemu-img)'/;
  const offenders: string[] = [];
  for (const file of sourceFiles(join(src, 'portlayer'))) {
    const found = tools.exec(readFileSync(file, 'utf8'));
    if (found) offenders.push(`${relative(repoRoot, file)} runs ${found[1]}`);
  }
  assert.deepEqual(offenders, []);
});
