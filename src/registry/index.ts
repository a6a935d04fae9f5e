// startRegistry: the one place where the registry's parts are wired together.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FsDriver } from './storage/driver.ts';
import { makeStatePrivate } from './storage/private-state.ts';
import { BlobStore, UploadArea } from './storage/blob-store.ts';
import { adminPasswordPath, secretKeyPath, signingKeyPath, sqlitePath, tlsCaFiles, tlsDir, tlsServerFiles, uploadsDir } from './storage/paths.ts';
import { openMetadata } from './db/open.ts';
import type { Metadata } from './db/metadata.ts';
import { AccessControl } from './auth/access.ts';
import { TokenSigner } from './auth/jwt.ts';
import { SecretBox } from './auth/secret-box.ts';
import { hashPassword, randomSecret } from './auth/passwords.ts';
import { tokenService } from './auth/token-service.ts';
import { LoginThrottle, type ThrottleOptions } from './auth/login-throttle.ts';
import { EventBus } from './events.ts';
import { RepoGate } from './distribution/gate.ts';
import { baseHandler, distributionRouter } from './distribution/router.ts';
import { blobRoutes } from './distribution/blobs.ts';
import { uploadRoutes } from './distribution/uploads.ts';
import { manifestRoutes } from './distribution/manifests.ts';
import { tagRoutes } from './distribution/tags.ts';
import { catalogRoutes } from './distribution/catalog.ts';
import { referrerRoutes } from './distribution/referrers.ts';
import { apiRouter } from './api/router.ts';
import { userRoutes } from './api/users.ts';
import { projectRoutes } from './api/projects.ts';
import { memberRoutes } from './api/members.ts';
import { robotRoutes } from './api/robots.ts';
import { quotaRoutes } from './api/quotas.ts';
import { auditRoutes, recordAudit } from './api/audit.ts';
import { gcRoutes } from './api/gc.ts';
import { GcRunner } from './gc/runner.ts';
import { gcSchedules } from './gc/schedule.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { Liveness } from './jobs/liveness.ts';
import { retentionSchedules } from './retention/schedule.ts';
import { replicationSchedules } from './replication/schedule.ts';
import { purgeAbandonedUploads } from './gc/uploads.ts';
import { systemRoutes } from './api/system.ts';
import { repositoryRoutes } from './api/repositories.ts';
import { immutabilityRoutes } from './api/immutability.ts';
import { sealPlainWebhookHeaders, webhookRoutes, WebhookNotifier } from './api/webhooks.ts';
import { registryRoutes } from './api/registries.ts';
import { replicationRoutes } from './api/replication.ts';
import { ReplicationStore } from './replication/store.ts';
import { Replicator, replicationSubject } from './replication/replicator.ts';
import { retentionRoutes } from './api/retention.ts';
import { RetentionStore } from './retention/store.ts';
import { RetentionRunner } from './retention/runner.ts';
import { ensureCa, issueServerCertificate, subjectAltNames } from '../pki/certificates.ts';
import { badRequest, RegistryError } from './http/errors.ts';
import { sendError } from './http/respond.ts';
import { guardConnections } from './http/connection-guard.ts';
import type { GcResult } from './gc/collector.ts';

export interface RegistryOptions {
  /** Directory holding blobs, uploads, the SQLite database, keys and generated TLS files. */
  root: string;
  /** HOST:PORT to listen on (port 0 picks a free one). Default 127.0.0.1:5000. */
  listen?: string;
  /** Serve plain HTTP. Only when explicitly asked; HTTPS otherwise. */
  insecureHttp?: boolean;
  /** PEM files; when absent a CA and server certificate are generated under <root>/tls. */
  tlsCert?: string;
  tlsKey?: string;
  /** Extra names for the generated certificate. */
  tlsHostnames?: string[];
  /** Password of the `admin` account created at first start (generated and reported when absent). */
  adminPassword?: string;
  /** Lifetime of bearer tokens. Default 1800 s. */
  tokenTtlSeconds?: number;
  /** Token audience (`service=`). Default "bonneville-registry". */
  service?: string;
  /** Base URL clients use (for the token realm), when it differs from the Host header. */
  externalUrl?: string;
  /** Upper bound of one blob. Default 16 GiB. */
  maxBlobSize?: number;
  /** Upper bound of one manifest. Default 4 MiB. */
  maxManifestSize?: number;
  /** GC leaves blobs touched within this window alone. Default 1 h. */
  gcGraceSeconds?: number;
  /** Metadata database: a postgres:// URL; default SQLite under root. Several processes may share one
   *  PostgreSQL database and one root (blobs, uploads, keys) and serve together. */
  database?: string;
  /** Upload sessions untouched for longer are removed at start-up and by GC. Default 24 h. */
  uploadMaxAgeSeconds?: number;
  /** Seconds between this process's heartbeats in the database. Default 5. */
  heartbeatSeconds?: number;
  /** A process whose heartbeat is older is taken for dead: its running executions fail, its leases free. Default 30. */
  staleAfterSeconds?: number;
  /** Seconds between checks of GC, retention and replication schedules; 0 turns the timer off. Default 15. */
  scheduleCheckSeconds?: number;
  /** Seconds a client may take to send a request's headers. Default 60. */
  headersTimeoutSeconds?: number;
  /** Seconds a connection may stay silent (no bytes either way) before it is closed. Default 120. */
  idleTimeoutSeconds?: number;
  /** Backoff of failed logins per account and client address (its clock defaults to `clock`). */
  loginThrottle?: ThrottleOptions;
  /** Let webhooks target loopback and link-local addresses (refused by default). */
  allowInternalWebhooks?: boolean;
  /** The time (ms) for schedules and heartbeats; tests move it by hand. Default Date.now. */
  clock?: () => number;
  log?: (line: string) => void;
}

export interface RunningRegistry {
  url: string;
  /** The CA that signed the generated certificate (null for plain HTTP or a supplied certificate). */
  caCertPath: string | null;
  /** Set when this start created the admin account with a generated password. */
  generatedAdminPassword: string | null;
  /** Where that generated password was written (mode 0600), or null. */
  adminPasswordFile: string | null;
  /** Runs garbage collection now. */
  gc(options?: { dryRun?: boolean; graceSeconds?: number; deleteUntagged?: boolean }): Promise<GcResult>;
  /** Checks every schedule now (at the clock's time); returns the ids of the schedules this process fired. */
  runSchedules(): Promise<string[]>;
  /** Resolves when the jobs this process started (GC, retention, replication) have finished. */
  jobsIdle(): Promise<void>;
  /** This process's id in the database (owner of its executions). */
  processId: string;
  close(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const log = options.log ?? ((line: string) => process.stderr.write(`registry: ${line}\n`));
  const driver = new FsDriver(options.root);
  driver.ensureDirSync(uploadsDir);
  makeStatePrivate(options.root, options.database ? null : sqlitePath);
  const clock = options.clock ?? Date.now;
  const processId = randomUUID();
  const staleAfterMs = (options.staleAfterSeconds ?? 30) * 1000;
  const db = await openMetadata(options.database, driver.abs(sqlitePath), log,
    { liveness: { processId, liveSince: () => clock() - staleAfterMs } });
  const blobs = new BlobStore(driver);
  const uploads = new UploadArea(driver);
  const access = new AccessControl(db);
  const events = new EventBus();
  const service = options.service ?? 'bonneville-registry';
  const issuer = 'bonneville-registry-token-issuer';
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 1800;

  // Keys are made by whichever process sharing the root starts first; the others read its bytes.
  const keyPem = (await driver.read(signingKeyPath)) ?? (await driver.createOnce(signingKeyPath, TokenSigner.generatePem()));
  const signer = new TokenSigner(keyPem.toString());
  const secrets = new SecretBox((await driver.read(secretKeyPath)) ?? (await driver.createOnce(secretKeyPath, SecretBox.generateKey())));

  const generatedAdminPassword = await ensureAdmin(db, options.adminPassword);
  // A generated password goes to a file only its owner can read; never to a log or stdout.
  const adminPasswordFile = generatedAdminPassword ? driver.abs(adminPasswordPath) : null;
  if (generatedAdminPassword) await driver.writeAtomic(adminPasswordPath, `${generatedAdminPassword}\n`);

  const [host, portText] = splitListen(options.listen ?? '127.0.0.1:5000');
  let caCertPath: string | null = null;
  let server: Server;
  const handle = (req: IncomingMessage, res: ServerResponse) => { void dispatch(req, res); };
  // No limit on a whole request: a large layer streamed slowly but steadily must not be cut off
  // (Node's default requestTimeout of 300 s did). Slow-loris clients are bounded by the headers
  // timeout and by the idle timeout (http/connection-guard.ts).
  const headersTimeout = (options.headersTimeoutSeconds ?? 60) * 1000;
  const idleTimeout = (options.idleTimeoutSeconds ?? 120) * 1000;
  const serverOptions = { requestTimeout: 0, headersTimeout };
  if (options.insecureHttp) {
    server = createHttpServer(serverOptions, handle);
  } else {
    let cert = options.tlsCert, key = options.tlsKey;
    if (!cert || !key) {
      const dir = join(options.root, tlsDir);
      const names = subjectAltNames([host, ...(options.tlsHostnames ?? [])].filter((h) => h !== '0.0.0.0' && h !== '::'));
      const ca = await ensureCa(dir, 'Bonneville Registry CA', tlsCaFiles);
      const issued = await issueServerCertificate(ca, dir, names, tlsServerFiles);
      cert = issued.cert; key = issued.key; caCertPath = issued.ca;
    }
    server = createHttpsServer({ ...serverOptions, cert: await readFile(cert), key: await readFile(key) }, handle);
  }
  const stopGuard = guardConnections(server, { idleMs: idleTimeout, headersMs: headersTimeout });
  const scheme = options.insecureHttp ? 'http' : 'https';

  const gate = new RepoGate(db, access);
  const throttle = new LoginThrottle({ ...options.loginThrottle, clock: options.loginThrottle?.clock ?? clock });
  const maxBlobSize = options.maxBlobSize ?? 16 * 1024 ** 3;
  const upl = uploadRoutes({ db, blobs, uploads, gate, events, maxBlobSize });
  const distribution = distributionRouter({
    db, tokens: { signer, service, issuer }, throttle,
    realm: (req) => `${options.externalUrl ?? `${scheme}://${req.headers.host}`}/service/token`,
    routes: {
      base: { GET: baseHandler, HEAD: baseHandler },
      catalog: catalogRoutes({ db }),
      blob: blobRoutes({ db, blobs, gate }),
      uploads: upl.uploads,
      upload: upl.upload,
      manifest: manifestRoutes({ db, blobs, uploads, gate, events, maxManifestSize: options.maxManifestSize ?? 4 * 1024 * 1024 }),
      tags: tagRoutes({ db, gate }),
      referrers: referrerRoutes({ db, gate }),
    },
  });
  const token = tokenService({ db, access, signer, service, issuer, ttlSeconds: tokenTtlSeconds, throttle });
  const gcGraceMs = (options.gcGraceSeconds ?? 3600) * 1000;
  const uploadMaxAgeMs = (options.uploadMaxAgeSeconds ?? 86400) * 1000;
  const removedUploads = await purgeAbandonedUploads({ db, uploads }, Date.now() - uploadMaxAgeMs, false);
  if (removedUploads > 0) log(`removed ${removedUploads} abandoned upload(s)`);
  const gcRunner = new GcRunner({ db, blobs, uploads }, { graceMs: gcGraceMs, uploadMaxAgeMs, owner: processId }, log);
  const allowInternalWebhooks = options.allowInternalWebhooks ?? false;
  await sealPlainWebhookHeaders(db.sql, secrets);
  const webhooks = new WebhookNotifier(db, log, { box: secrets, allowInternal: allowInternalWebhooks });
  const replicationStore = new ReplicationStore(db.sql, secrets, clock);
  await replicationStore.sealPlainSecrets();
  const replicator = new Replicator({
    store: replicationStore, db, log, owner: processId,
    selfUrl: () => url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:'),
    mintToken: (repository) => signer.issue({ issuer, subject: replicationSubject, audience: service, ttlSeconds: 600,
      access: [{ type: 'repository', name: repository, actions: ['pull', 'push'] }] }).token,
  });
  const retentionStore = new RetentionStore(db.sql, clock);
  const retention = new RetentionRunner({ db, store: retentionStore, events, log, owner: processId });
  // Before anything of this process can run: registers it and fails what crashed processes left running.
  const liveness = new Liveness({
    sql: db.sql, id: processId, clock, log, beatMs: (options.heartbeatSeconds ?? 5) * 1000, staleAfterMs,
    reapers: [(now) => db.failAbandonedGc(now), (now) => retentionStore.failAbandoned(now), (now) => replicationStore.failAbandoned(now)],
  });
  await liveness.start();
  const scheduler = new Scheduler({
    sql: db.sql, owner: processId, clock, log,
    sources: [gcSchedules(gcRunner), retentionSchedules({ db, store: retentionStore, runner: retention }), replicationSchedules({ store: replicationStore, replicator })],
  });
  scheduler.start((options.scheduleCheckSeconds ?? 15) * 1000);
  events.subscribe(recordAudit(db, log));
  events.subscribe((e) => webhooks.notify(e));
  events.subscribe((e) => replicator.onEvent(e));
  const api = apiRouter(db, throttle, [
    ...systemRoutes({ externalUrl: () => options.externalUrl ?? url }),
    ...userRoutes({ db }),
    ...projectRoutes({ db, access }),
    ...memberRoutes({ db, access }),
    ...robotRoutes({ db, access }),
    ...quotaRoutes({ db }),
    ...auditRoutes({ db, access }),
    ...gcRoutes({ runner: gcRunner, clock }),
    ...repositoryRoutes({ db, access, events }),
    ...immutabilityRoutes({ db, access }),
    ...webhookRoutes({ db, access, box: secrets, allowInternal: allowInternalWebhooks }),
    ...registryRoutes({ store: replicationStore, replicator }),
    ...replicationRoutes({ store: replicationStore, replicator }),
    ...retentionRoutes({ db, access, store: retentionStore, runner: retention }),
  ]);

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let u: URL;
      try { u = new URL(req.url ?? '/', 'http://registry.invalid'); } catch { throw badRequest('malformed request target'); }
      if (u.pathname === '/v2' || u.pathname.startsWith('/v2/')) await distribution(req, res, u);
      else if (u.pathname === '/service/token') await token(req, res, u.searchParams);
      else if (u.pathname.startsWith('/api/v2.0/')) await api(req, res, u);
      else throw new RegistryError(404, 'NOT_FOUND', `no such endpoint ${u.pathname}`);
    } catch (err) {
      sendError(res, err, log);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    caCertPath,
    generatedAdminPassword,
    adminPasswordFile,
    gc: (o = {}) => gcRunner.runNow({ dryRun: o.dryRun ?? false, deleteUntagged: o.deleteUntagged ?? false,
      graceMs: o.graceSeconds !== undefined ? o.graceSeconds * 1000 : undefined }),
    runSchedules: () => scheduler.tick(),
    jobsIdle: async () => { await scheduler.idle(); await Promise.all([gcRunner.idle(), retention.idle(), replicator.idle()]); },
    processId,
    close: async () => {
      scheduler.stop();
      stopGuard();
      await scheduler.idle();
      await replicator.idle(); // before the server goes: replication reaches this registry through it
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      await gcRunner.idle();
      await retention.idle();
      await webhooks.idle();
      await liveness.stop();
      await db.close();
    },
  };
}

function splitListen(listen: string): [string, string] {
  const i = listen.lastIndexOf(':');
  if (i < 0) throw new Error(`--listen wants HOST:PORT, got ${listen}`);
  return [listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', listen.slice(i + 1)];
}

const DEFAULT_PROJECT = 'library';

/** Creates `admin` (and the `library` project) at first start; returns the password when it was generated here. */
async function ensureAdmin(db: Metadata, configured: string | undefined): Promise<string | null> {
  if ((await db.countUsers()) > 0) return null;
  const password = configured ?? randomSecret();
  try {
    await db.createUser({ username: 'admin', passwordHash: await hashPassword(password), sysadmin: true, email: '', realname: 'administrator' });
  } catch {
    return null; // another process sharing the database created it first
  }
  // As in Harbor, a new registry has the public `library` project, so `docker push HOST/library/x` works at once.
  if (!(await db.projectByName(DEFAULT_PROJECT))) {
    await db.createProject({ name: DEFAULT_PROJECT, public: true, storageLimit: -1 }).catch(() => undefined);
  }
  return configured ? null : password;
}
