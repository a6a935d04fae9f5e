// The unit written for a VCH where systemd is PID 1 (these machines have none, so only its text is checked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemdUnit } from '../../src/lifecycle/service-manager.ts';
import type { VchSettings } from '../../src/lifecycle/settings.ts';

test('the systemd unit runs vch serve from the settings, with the pool limits and restarts', () => {
  const settings: VchSettings = {
    name: 'dev', version: '0.1.0', created: '', enabled: true, datastore: '/var/lib/bonneville/dev', socket: '/run/bonneville/dev/docker.sock',
    endpoint: { host: '127.0.0.1', port: 2377 }, limits: { memoryMiB: 1024, cpus: 1.5, cpuShares: 512 },
    containerDefaults: { memoryMiB: 256, cpus: 1 }, volumeStores: { default: '/var/lib/bonneville/dev/volumes' }, dnsServers: [],
    tls: { cert: '/c.pem', key: '/k.pem', ca: '/ca.pem', generated: true, verify: true }, registries: { insecure: [], ca: [], whitelist: [] },
    instantClone: true, standbyClones: 2, adminPort: 2378, logLevel: 'info', resourcePool: { driver: 'v1', dirs: [] },
    release: '/var/lib/bonneville/releases/0.1.0',
  };
  const unit = systemdUnit(settings);
  assert.match(unit, /^ExecStart=\S+node \S+bonneville\.ts vch serve --name dev --datastore \/var\/lib\/bonneville\/dev .*--tls-listen 127\.0\.0\.1:2377 .*--tls-ca \/ca\.pem --memory-limit 1024 --cpu-limit 1\.5/m);
  // The engine runs the VCH's release (its version's kept code), with its standby clones.
  assert.match(unit, /^ExecStart=\/var\/lib\/bonneville\/releases\/0\.1\.0\/node_modules\/\.bin\/node \/var\/lib\/bonneville\/releases\/0\.1\.0\/src\/cli\/bonneville\.ts vch serve /m);
  assert.match(unit, /^ExecStart=.* --standby-clones 2( |$)/m);
  assert.match(unit, /^Restart=always$/m);
  assert.match(unit, /^KillMode=process$/m);
  assert.match(unit, /^MemoryMax=1408M$/m);
  assert.match(unit, /^CPUQuota=150%$/m);
  assert.match(unit, /^CPUShares=512$/m);
  assert.match(unit, /^StandardOutput=append:\/var\/lib\/bonneville\/dev\/engine\.log$/m);
});
