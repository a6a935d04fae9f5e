// vic-machine's flags as the vSphere backend reads them: the SDK URL with its credentials, the image
// and volume stores' datastore paths, and the fault classes Docker clients see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImageStore, parseTargetUrl, parseVolumeStore } from '../../../src/backends/vsphere/connect.ts';
import { vsphereError } from '../../../src/backends/vsphere/fault-errors.ts';
import { makeFault } from '../../../src/vim25/faults.ts';
import { errorKind } from '../../../src/portlayer/errors.ts';
import { moref } from '../../../src/vim25/types.ts';

test('--target: credentials split off the SDK URL, /sdk by default, https only', () => {
  assert.deepEqual(parseTargetUrl('https://admin%40vsphere.local:p%3Ass@vc.example/sdk'),
    { url: 'https://vc.example/sdk', username: 'admin@vsphere.local', password: 'p:ss' });
  assert.deepEqual(parseTargetUrl('vc.example', 'u', 'p'), { url: 'https://vc.example/sdk', username: 'u', password: 'p' });
  assert.throws(() => parseTargetUrl('http://u:p@vc.example/sdk'), /must be https/);
  assert.throws(() => parseTargetUrl('https://vc.example/sdk'), /no user and password/);
});

test('--image-store DATASTORE[/PATH] and --volume-store DATASTORE/PATH:NAME', () => {
  assert.deepEqual(parseImageStore('datastore1'), { datastore: 'datastore1', path: '' });
  assert.deepEqual(parseImageStore('ds://datastore1/a/b/'), { datastore: 'datastore1', path: 'a/b' });
  assert.throws(() => parseImageStore('[ds] x'), /DATASTORE\[\/PATH\]/);
  assert.deepEqual(parseVolumeStore('datastore2/vols/fast:fast'), { datastore: 'datastore2', path: 'vols/fast', name: 'fast' });
  assert.throws(() => parseVolumeStore('datastore2:fast'), /DATASTORE\/PATH:NAME/);
  assert.throws(() => parseVolumeStore('datastore2/vols'), /DATASTORE\/PATH:NAME/);
});

test('vCenter faults become the port layer\'s classes: conflict, unavailable, system', () => {
  const dup = vsphereError('creating container VM web-0123', makeFault('DuplicateName', 'The name web-0123 already exists.'));
  assert.equal(errorKind(dup), 'Conflict');
  assert.equal(dup.message, 'vSphere: creating container VM web-0123: The name web-0123 already exists. (DuplicateName)');
  const gone = vsphereError('reading x', makeFault('ManagedObjectNotFound', '', { obj: moref('Folder', 'group-v9') }));
  assert.equal(errorKind(gone), 'Unavailable');
  assert.equal(gone.message, 'vSphere: reading x: (ManagedObjectNotFound: Folder group-v9 no longer exists)');
  assert.equal(errorKind(vsphereError('x', makeFault('InsufficientMemoryResourcesFault', 'no memory'))), 'Conflict');
  assert.equal(errorKind(vsphereError('x', makeFault('SomethingElse', 'odd'))), 'System');
  const plain = new Error('plain');
  assert.equal(vsphereError('x', plain), plain);
});
