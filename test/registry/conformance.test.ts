// Walks every endpoint of the OCI distribution spec (v1.1) and its error responses over plain HTTP.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth as auth, call, createProject, errorCode, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, sha256, startTestRegistry, BACKENDS, type TestRegistry } from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';

after(stopSharedCluster);

for (const backend of BACKENDS) describe(`conformance ({backend})`, () => {
  let t: TestRegistry;
  const repo = 'conf/app';
  before(async () => {
    t = await startTestRegistry({}, backend);
    await createProject(t.url, 'conf');
  });
  after(async () => { await t.stop(); });

  test('end-1: GET /v2/ answers 200 when authenticated, 401 with a Bearer challenge otherwise', async () => {
    const ok = await call(t.url, '/v2/', { auth });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const anon = await call(t.url, '/v2/');
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate')!, /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token",service="bonneville-registry"/);
    assert.equal(await errorCode(anon), 'UNAUTHORIZED');
  });

  test('end-4a/end-6: POST then PUT uploads a blob; end-2: GET/HEAD with digest header and Range', async () => {
    const data = Buffer.from('0123456789abcdef');
    const digest = sha256(data);
    const start = await call(t.url, `/v2/${repo}/blobs/uploads/`, { method: 'POST', auth });
    assert.equal(start.status, 202);
    const loc = start.headers.get('location')!;
    assert.match(loc, /^\/v2\/conf\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const put = await call(t.url, `${loc}?digest=${digest}`, { method: 'PUT', auth, body: data });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `/v2/${repo}/blobs/${digest}`);
    assert.equal(put.headers.get('docker-content-digest'), digest);

    const head = await call(t.url, `/v2/${repo}/blobs/${digest}`, { method: 'HEAD', auth });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '16');
    assert.equal(head.headers.get('docker-content-digest'), digest);
    const get = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth });
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);

    const range = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth, headers: { Range: 'bytes=4-7' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-range'), 'bytes 4-7/16');
    assert.equal(await range.text(), '4567');
    const suffix = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth, headers: { Range: 'bytes=-3' } });
    assert.equal(await suffix.text(), 'def');
    const bad = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth, headers: { Range: 'bytes=100-200' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), 'bytes */16');
    await bad.body?.cancel();
  });

  test('end-2: unknown blobs are 404 BLOB_UNKNOWN; malformed digests 400 DIGEST_INVALID', async () => {
    const missing = await call(t.url, `/v2/${repo}/blobs/${sha256('nothing here')}`, { auth });
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'BLOB_UNKNOWN');
    const malformed = await call(t.url, `/v2/${repo}/blobs/sha256:xyz`, { auth });
    assert.equal(malformed.status, 400);
    assert.equal(await errorCode(malformed), 'DIGEST_INVALID');
    const unsupportedAlg = await call(t.url, `/v2/${repo}/blobs/md5:d41d8cd98f00b204e9800998ecf8427e`, { auth });
    assert.equal(unsupportedAlg.status, 400);
    await unsupportedAlg.body?.cancel();
  });

  test('end-4b: a single POST with ?digest= uploads monolithically (201)', async () => {
    const data = Buffer.from('single post body');
    const digest = sha256(data);
    const res = await call(t.url, `/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', auth, body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/${repo}/blobs/${digest}`);
    const wrong = await call(t.url, `/v2/${repo}/blobs/uploads/?digest=${sha256('other')}`, { method: 'POST', auth, body: data });
    assert.equal(wrong.status, 400);
    assert.equal(await errorCode(wrong), 'DIGEST_INVALID');
  });

  test('end-4c: digest-algorithm=sha512 uploads are verified with sha512', async () => {
    const { createHash } = await import('node:crypto');
    const data = Buffer.from('sha512 content');
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const start = await call(t.url, `/v2/${repo}/blobs/uploads/?digest-algorithm=sha512`, { method: 'POST', auth });
    assert.equal(start.status, 202);
    const put = await call(t.url, `${start.headers.get('location')}?digest=${digest}`, { method: 'PUT', auth, body: data });
    assert.equal(put.status, 201);
    const get = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth });
    assert.equal(await get.text(), 'sha512 content');
  });

  test('end-5/end-13/end-6: chunked upload with Content-Range, 416 out of order, status GET, final chunk in PUT', async () => {
    const data = Buffer.from('chunk-one|chunk-two|final');
    const digest = sha256(data);
    const start = await call(t.url, `/v2/${repo}/blobs/uploads/`, { method: 'POST', auth, headers: { 'Content-Length': '0' } });
    let loc = start.headers.get('location')!;
    const p1 = await call(t.url, loc, { method: 'PATCH', auth, body: data.subarray(0, 10), headers: { 'Content-Range': '0-9', 'Content-Type': 'application/octet-stream' } });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.get('range'), '0-9');
    loc = p1.headers.get('location')!;
    const outOfOrder = await call(t.url, loc, { method: 'PATCH', auth, body: data.subarray(12, 20), headers: { 'Content-Range': '12-19' } });
    assert.equal(outOfOrder.status, 416);
    assert.equal(outOfOrder.headers.get('range'), '0-9');
    await outOfOrder.body?.cancel();
    const status = await call(t.url, loc, { auth });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-9');
    assert.equal(status.headers.get('location'), loc);
    const p2 = await call(t.url, loc, { method: 'PATCH', auth, body: data.subarray(10, 20), headers: { 'Content-Range': '10-19' } });
    assert.equal(p2.status, 202);
    assert.equal(p2.headers.get('range'), '0-19');
    const badFinal = await call(t.url, `${loc}?digest=${digest}`, { method: 'PUT', auth, body: data.subarray(20), headers: { 'Content-Range': '21-26' } });
    assert.equal(badFinal.status, 416);
    await badFinal.body?.cancel();
    const fin = await call(t.url, `${loc}?digest=${digest}`, { method: 'PUT', auth, body: data.subarray(20), headers: { 'Content-Range': `20-${data.length - 1}` } });
    assert.equal(fin.status, 201);
    const get = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth });
    assert.equal(await get.text(), data.toString());
  });

  test('streamed PATCH without Content-Range, then PUT without body', async () => {
    const data = Buffer.alloc(300_000, 7);
    const start = await call(t.url, `/v2/${repo}/blobs/uploads/`, { method: 'POST', auth });
    const loc = start.headers.get('location')!;
    const patch = await call(t.url, loc, { method: 'PATCH', auth, body: data });
    assert.equal(patch.headers.get('range'), `0-${data.length - 1}`);
    const fin = await call(t.url, `${patch.headers.get('location')}?digest=${sha256(data)}`, { method: 'PUT', auth });
    assert.equal(fin.status, 201);
  });

  test('end-14: DELETE cancels an upload; unknown uploads are 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const start = await call(t.url, `/v2/${repo}/blobs/uploads/`, { method: 'POST', auth });
    const loc = start.headers.get('location')!;
    const del = await call(t.url, loc, { method: 'DELETE', auth });
    assert.equal(del.status, 204);
    const again = await call(t.url, loc, { auth });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'BLOB_UPLOAD_UNKNOWN');
    const bogus = await call(t.url, `/v2/${repo}/blobs/uploads/not-an-upload`, { method: 'PATCH', auth, body: 'x' });
    assert.equal(await errorCode(bogus), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('end-6: PUT with a wrong digest is 400 DIGEST_INVALID and leaves no blob; without digest too', async () => {
    const data = Buffer.from('mismatch');
    const start = await call(t.url, `/v2/${repo}/blobs/uploads/`, { method: 'POST', auth });
    const claimed = sha256('something else');
    const put = await call(t.url, `${start.headers.get('location')}?digest=${claimed}`, { method: 'PUT', auth, body: data });
    assert.equal(put.status, 400);
    assert.equal(await errorCode(put), 'DIGEST_INVALID');
    const head = await call(t.url, `/v2/${repo}/blobs/${claimed}`, { method: 'HEAD', auth });
    assert.equal(head.status, 404);
    const start2 = await call(t.url, `/v2/${repo}/blobs/uploads/`, { method: 'POST', auth });
    const noDigest = await call(t.url, start2.headers.get('location')!, { method: 'PUT', auth, body: data });
    assert.equal(noDigest.status, 400);
    assert.equal(await errorCode(noDigest), 'DIGEST_INVALID');
  });

  test('end-11: cross-repository mount is 201 when the source has the blob, 202 (new upload) otherwise', async () => {
    const digest = await pushBlob(t.url, 'conf/source', Buffer.from('mount me'));
    const ok = await call(t.url, `/v2/conf/target/blobs/uploads/?mount=${digest}&from=conf/source`, { method: 'POST', auth });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('location'), `/v2/conf/target/blobs/${digest}`);
    assert.equal(ok.headers.get('docker-content-digest'), digest);
    assert.equal((await call(t.url, `/v2/conf/target/blobs/${digest}`, { method: 'HEAD', auth })).status, 200);
    const fallback = await call(t.url, `/v2/conf/target/blobs/uploads/?mount=${sha256('absent')}&from=conf/source`, { method: 'POST', auth });
    assert.equal(fallback.status, 202);
    assert.ok(fallback.headers.get('location'));
  });

  test('end-7a/end-3: manifests by tag and digest with Docker-Content-Digest and Content-Type', async () => {
    const { manifest, digest } = await pushImage(t.url, repo, 'v1');
    for (const ref of ['v1', digest]) {
      const get = await call(t.url, `/v2/${repo}/manifests/${ref}`, { auth, headers: { Accept: OCI_MANIFEST } });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-type'), OCI_MANIFEST);
      assert.equal(get.headers.get('docker-content-digest'), digest);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), manifest);
      const head = await call(t.url, `/v2/${repo}/manifests/${ref}`, { method: 'HEAD', auth });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(manifest.length));
    }
    const missing = await call(t.url, `/v2/${repo}/manifests/nope`, { auth });
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'MANIFEST_UNKNOWN');
    const noRepo = await call(t.url, '/v2/conf/never-pushed/manifests/latest', { auth });
    assert.equal(noRepo.status, 404);
    assert.equal(await errorCode(noRepo), 'NAME_UNKNOWN');
  });

  test('end-7: manifests referencing missing blobs are refused with MANIFEST_BLOB_UNKNOWN', async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('no config'), size: 9 }, layers: [] });
    const res = await call(t.url, `/v2/${repo}/manifests/broken`, { method: 'PUT', auth, body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(res.status, 400);
    const json = await res.json() as any;
    assert.equal(json.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(json.errors[0].detail.digests, [sha256('no config')]);
    assert.equal((await call(t.url, `/v2/${repo}/manifests/broken`, { method: 'HEAD', auth })).status, 404);
  });

  test('end-7: invalid manifests are MANIFEST_INVALID; digest mismatch DIGEST_INVALID; oversize 413', async () => {
    const notJson = await call(t.url, `/v2/${repo}/manifests/bad`, { method: 'PUT', auth, body: 'not json', headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(notJson.status, 400);
    assert.equal(await errorCode(notJson), 'MANIFEST_INVALID');
    const typeMismatch = await call(t.url, `/v2/${repo}/manifests/bad`, { method: 'PUT', auth,
      body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(await errorCode(typeMismatch), 'MANIFEST_INVALID');
    const badTag = await call(t.url, `/v2/${repo}/manifests/-bad-tag`, { method: 'PUT', auth, body: '{}', headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(badTag.status, 400);
    await badTag.body?.cancel();
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const wrongDigest = await call(t.url, `/v2/${repo}/manifests/${sha256('x')}`, { method: 'PUT', auth, body, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(wrongDigest.status, 400);
    assert.equal(await errorCode(wrongDigest), 'DIGEST_INVALID');
    const huge = await call(t.url, `/v2/${repo}/manifests/huge`, { method: 'PUT', auth, body: Buffer.alloc(5 * 1024 * 1024, 32), headers: { 'Content-Type': OCI_MANIFEST } }).catch(() => null);
    if (huge) assert.equal(huge.status, 413);
  });

  test('end-7b: PUT by digest with ?tag= creates tags and answers OCI-Tag', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    const digest = sha256(body);
    const res = await call(t.url, `/v2/${repo}/manifests/${digest}?tag=multi-1&tag=multi-2`, { method: 'PUT', auth, body, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-tag'), 'multi-1, multi-2');
    const tagged = await call(t.url, `/v2/${repo}/manifests/multi-2`, { auth });
    assert.equal(tagged.headers.get('docker-content-digest'), digest);
  });

  test('Docker schema2 manifests and manifest lists round-trip with their content types', async () => {
    const name = 'conf/docker';
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = Buffer.from('docker layer');
    const cd = await pushBlob(t.url, name, config);
    const ld = await pushBlob(t.url, name, layer);
    const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cd, size: config.length },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: ld, size: layer.length }] }));
    const put = await call(t.url, `/v2/${name}/manifests/amd64`, { method: 'PUT', auth, body: m, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(put.status, 201);
    const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: sha256(m), size: m.length, platform: { architecture: 'amd64', os: 'linux' } }] }));
    const putList = await call(t.url, `/v2/${name}/manifests/latest`, { method: 'PUT', auth, body: list, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.list.v2+json' } });
    assert.equal(putList.status, 201);
    const get = await call(t.url, `/v2/${name}/manifests/latest`, { auth });
    assert.equal(get.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.list.v2+json');
    await get.body?.cancel();
    const danglingList = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('nope'), size: 4 }] }));
    const refused = await call(t.url, `/v2/${name}/manifests/dangling`, { method: 'PUT', auth, body: danglingList, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(await errorCode(refused), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('end-8a/8b: tag listing in lexical order with n/last pagination and Link headers', async () => {
    const name = 'conf/tags';
    const { digest, manifest } = await pushImage(t.url, name, 'c');
    for (const tag of ['a', 'b', 'd', 'E']) {
      const r = await call(t.url, `/v2/${name}/manifests/${tag}`, { method: 'PUT', auth, body: manifest, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('docker-content-digest'), digest);
    }
    const all = await call(t.url, `/v2/${name}/tags/list`, { auth });
    assert.deepEqual(await all.json(), { name, tags: ['E', 'a', 'b', 'c', 'd'] });
    const page1 = await call(t.url, `/v2/${name}/tags/list?n=2`, { auth });
    assert.deepEqual((await page1.json() as any).tags, ['E', 'a']);
    assert.equal(page1.headers.get('link'), `</v2/${name}/tags/list?n=2&last=a>; rel="next"`);
    const page2 = await call(t.url, `/v2/${name}/tags/list?n=2&last=a`, { auth });
    assert.deepEqual((await page2.json() as any).tags, ['b', 'c']);
    const page3 = await call(t.url, `/v2/${name}/tags/list?n=2&last=c`, { auth });
    assert.deepEqual((await page3.json() as any).tags, ['d']);
    assert.equal(page3.headers.get('link'), null);
    const zero = await call(t.url, `/v2/${name}/tags/list?n=0`, { auth });
    assert.deepEqual((await zero.json() as any).tags, []);
    assert.equal(zero.headers.get('link'), null);
    const lastOnly = await call(t.url, `/v2/${name}/tags/list?last=b`, { auth });
    assert.deepEqual((await lastOnly.json() as any).tags, ['c', 'd']);
    const unknown = await call(t.url, '/v2/conf/no-such-repo/tags/list', { auth });
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), 'NAME_UNKNOWN');
  });

  test('_catalog lists repositories with pagination', async () => {
    const res = await call(t.url, '/v2/_catalog?n=2', { auth });
    const body = await res.json() as { repositories: string[] };
    assert.equal(body.repositories.length, 2);
    assert.deepEqual(body.repositories, [...body.repositories].sort());
    assert.match(res.headers.get('link')!, /^<\/v2\/_catalog\?n=2&last=.+>; rel="next"$/);
  });

  test('end-12a/12b: referrers with subject, OCI-Subject header and artifactType filtering', async () => {
    const name = 'conf/refs';
    const { digest: subject } = await pushImage(t.url, name, 'base');
    const emptyDesc = { mediaType: 'application/vnd.oci.empty.v1+json', digest: await pushBlob(t.url, name, Buffer.from('{}')), size: 2 };
    const pushArtifact = async (artifactType: string, annotation: string) => {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: emptyDesc, layers: [emptyDesc],
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 }, annotations: { 'org.example.note': annotation } }));
      const res = await call(t.url, `/v2/${name}/manifests/${sha256(body)}`, { method: 'PUT', auth, body, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), subject);
      return { digest: sha256(body), size: body.length };
    };
    const sbom = await pushArtifact('application/vnd.example.sbom.v1', 'sbom');
    const sig = await pushArtifact('application/vnd.example.signature.v1', 'sig');
    // A referrer of a subject that does not exist (yet) is accepted.
    const orphanSubject = sha256('future subject');
    const orphan = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/x', config: emptyDesc, layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: orphanSubject, size: 1 } }));
    assert.equal((await call(t.url, `/v2/${name}/manifests/${sha256(orphan)}`, { method: 'PUT', auth, body: orphan, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);

    const all = await call(t.url, `/v2/${name}/referrers/${subject}`, { auth });
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), OCI_INDEX);
    const index = await all.json() as any;
    assert.equal(index.mediaType, OCI_INDEX);
    assert.equal(index.manifests.length, 2);
    const sbomDesc = index.manifests.find((m: any) => m.digest === sbom.digest);
    assert.deepEqual(sbomDesc, { mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.example.sbom.v1', annotations: { 'org.example.note': 'sbom' } });
    const filtered = await call(t.url, `/v2/${name}/referrers/${subject}?artifactType=application/vnd.example.signature.v1`, { auth });
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual((await filtered.json() as any).manifests.map((m: any) => m.digest), [sig.digest]);
    const none = await call(t.url, `/v2/${name}/referrers/${sha256('no referrers')}`, { auth });
    assert.equal(none.status, 200);
    assert.deepEqual((await none.json() as any).manifests, []);
    const invalid = await call(t.url, `/v2/${name}/referrers/sha256:short`, { auth });
    assert.equal(invalid.status, 400);
    await invalid.body?.cancel();
    // The referrers tag schema (fallback for old clients) is an ordinary tag that can be pushed and pulled.
    const fallbackTag = subject.replace(':', '-');
    const fallbackIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size }] }));
    assert.equal((await call(t.url, `/v2/${name}/manifests/${fallbackTag}`, { method: 'PUT', auth, body: fallbackIndex, headers: { 'Content-Type': OCI_INDEX } })).status, 201);
    assert.equal((await call(t.url, `/v2/${name}/manifests/${fallbackTag}`, { method: 'HEAD', auth })).status, 200);
  });

  test('end-9/end-10: delete tags, manifests and blobs (202), then 404', async () => {
    const name = 'conf/delete';
    const { digest, layerDigest } = await pushImage(t.url, name, 'one');
    await call(t.url, `/v2/${name}/manifests/${digest}?tag=two`, { method: 'PUT', auth,
      body: Buffer.from(await (await call(t.url, `/v2/${name}/manifests/one`, { auth })).arrayBuffer()), headers: { 'Content-Type': OCI_MANIFEST } });
    const delTag = await call(t.url, `/v2/${name}/manifests/one`, { method: 'DELETE', auth });
    assert.equal(delTag.status, 202);
    assert.equal((await call(t.url, `/v2/${name}/manifests/one`, { method: 'HEAD', auth })).status, 404);
    assert.equal((await call(t.url, `/v2/${name}/manifests/two`, { method: 'HEAD', auth })).status, 200);
    const delManifest = await call(t.url, `/v2/${name}/manifests/${digest}`, { method: 'DELETE', auth });
    assert.equal(delManifest.status, 202);
    const gone = await call(t.url, `/v2/${name}/manifests/${digest}`, { auth });
    assert.equal(gone.status, 404);
    assert.equal(await errorCode(gone), 'MANIFEST_UNKNOWN');
    assert.equal((await call(t.url, `/v2/${name}/manifests/two`, { method: 'HEAD', auth })).status, 404);
    assert.equal(await errorCode(await call(t.url, `/v2/${name}/manifests/${digest}`, { method: 'DELETE', auth })), 'MANIFEST_UNKNOWN');
    const delBlob = await call(t.url, `/v2/${name}/blobs/${layerDigest}`, { method: 'DELETE', auth });
    assert.equal(delBlob.status, 202);
    const blobGone = await call(t.url, `/v2/${name}/blobs/${layerDigest}`, { auth });
    assert.equal(blobGone.status, 404);
    assert.equal(await errorCode(blobGone), 'BLOB_UNKNOWN');
    assert.equal(await errorCode(await call(t.url, `/v2/${name}/blobs/${layerDigest}`, { method: 'DELETE', auth })), 'BLOB_UNKNOWN');
  });

  test('names are validated (NAME_INVALID) and unknown projects are NAME_UNKNOWN', async () => {
    for (const bad of ['conf/UPPER', 'conf/a..b', 'noproject', `conf/${'a'.repeat(260)}`]) {
      const res = await call(t.url, `/v2/${bad}/tags/list`, { auth });
      assert.equal(res.status, 400, bad);
      assert.equal(await errorCode(res), 'NAME_INVALID');
    }
    const res = await call(t.url, '/v2/ghost/app/blobs/uploads/', { method: 'POST', auth });
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NAME_UNKNOWN');
  });

  test('unsupported methods are 405 UNSUPPORTED; unknown paths 404', async () => {
    const res = await call(t.url, `/v2/${repo}/tags/list`, { method: 'DELETE', auth });
    assert.equal(res.status, 405);
    assert.equal(await errorCode(res), 'UNSUPPORTED');
    const nowhere = await call(t.url, '/v2/conf/app/nowhere', { auth });
    assert.equal(nowhere.status, 404);
    await nowhere.body?.cancel();
  });

  test('uploads are size-bounded (413 SIZE_INVALID)', async () => {
    const small = await startTestRegistry({ maxBlobSize: 1000 }, backend);
    try {
      await createProject(small.url, 'p');
      const start = await call(small.url, '/v2/p/r/blobs/uploads/', { method: 'POST', auth });
      const loc = start.headers.get('location')!;
      const big = Buffer.alloc(1500, 1);
      const res = await call(small.url, `${loc}?digest=${sha256(big)}`, { method: 'PUT', auth, body: big });
      assert.equal(res.status, 413);
      assert.equal(await errorCode(res), 'SIZE_INVALID');
      const start2 = await call(small.url, '/v2/p/r/blobs/uploads/', { method: 'POST', auth });
      const loc2 = start2.headers.get('location')!;
      // Streamed without Content-Length: the bound is enforced while bytes arrive.
      const chunked = await fetch(small.url + loc2, { method: 'PATCH', headers: { Authorization: auth }, body: new Blob([big]).stream(), duplex: 'half' } as RequestInit)
        .catch(() => null);
      if (chunked) {
        assert.equal(chunked.status, 413);
        assert.equal(await errorCode(chunked), 'SIZE_INVALID');
      }
    } finally { await small.stop(); }
  });
});
