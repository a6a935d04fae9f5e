// What the registry needs from its metadata database (SqlMetadata implements it over SQLite or
// PostgreSQL). Callbacks passed into transactional methods (`place`, `remove`) are synchronous
// file operations that must happen inside the transaction, which is what makes blob commits and
// GC deletions of the same digest exclusive of each other, across processes too.
import type { SqlDriver } from './sql.ts';

export type RoleId = 1 | 2 | 3 | 4 | 5; // projectAdmin, developer, guest, maintainer, limitedGuest (Harbor's ids)

export interface User { id: number; username: string; passwordHash: string; sysadmin: boolean; email: string; realname: string; createdAt: number }
export interface Project { id: number; name: string; public: boolean; storageLimit: number; createdAt: number }
export interface Member { id: number; projectId: number; userId: number; username: string; roleId: RoleId }
export interface RobotAccess { resource: 'repository'; action: 'pull' | 'push' | 'delete' }
export interface RobotPermission { kind: 'project'; namespace: string; access: RobotAccess[] }
export interface Robot {
  id: number; name: string; secretHash: string; description: string; permissions: RobotPermission[];
  /** The project the robot acts in, by id (its namespace text is only for display); null for none. */
  projectId: number | null;
  /** Unix seconds; -1 never expires. */
  expiresAt: number; disabled: boolean; createdAt: number;
}
export interface Repository { id: number; projectId: number; name: string; createdAt: number }
export interface ManifestRecord {
  repoId: number; digest: string; mediaType: string; size: number; subject: string | null;
  artifactType: string | null; annotations: Record<string, string> | null; createdAt: number;
}
export interface Tag { name: string; digest: string; updatedAt: number }
export interface Upload { id: string; repoId: number; createdAt: number }
/** Which audit entries to list: by project, and by field (exact, or `fuzzy`: contains, case-insensitive). */
export interface AuditFilter {
  projectIds?: number[];
  fields?: { field: 'username' | 'operation' | 'resource' | 'resource_type'; value: string; fuzzy: boolean }[];
  limit: number;
  offset: number;
}
export interface AuditEntry { id: number; opTime: number; username: string; projectId: number | null; resource: string; resourceType: string; operation: string }
export type JobTrigger = 'MANUAL' | 'SCHEDULE';
export interface GcRun {
  id: number; status: 'running' | 'succeeded' | 'failed'; dryRun: boolean; trigger: JobTrigger; startedAt: number; finishedAt: number | null; result: unknown;
}
export interface ImmutableRule { id: number; projectId: number; repoPattern: string; tagPattern: string }

export interface Webhook { id: number; projectId: number; name: string; url: string; eventTypes: string[]; authHeader: string }

export interface NewManifest {
  repoId: number; projectId: number; quotaLimit: number;
  digest: string; mediaType: string; size: number; subject: string | null; artifactType: string | null;
  annotations: Record<string, string> | null; blobRefs: string[]; manifestRefs: string[]; tags: string[];
}

export class QuotaExceeded extends Error {}

export interface Metadata {
  /** The database itself, for feature stores (replication, retention) and cross-process locks. */
  readonly sql: SqlDriver;
  close(): Promise<void>;

  // users
  createUser(u: Omit<User, 'id' | 'createdAt'>): Promise<User>;
  userByName(username: string): Promise<User | null>;
  userById(id: number): Promise<User | null>;
  listUsers(): Promise<User[]>;
  updateUser(id: number, patch: Partial<Pick<User, 'passwordHash' | 'sysadmin' | 'email' | 'realname'>>): Promise<void>;
  deleteUser(id: number): Promise<void>;
  countUsers(): Promise<number>;

  // projects and members
  createProject(p: Omit<Project, 'id' | 'createdAt'>): Promise<Project>;
  projectByName(name: string): Promise<Project | null>;
  projectById(id: number): Promise<Project | null>;
  listProjects(): Promise<Project[]>;
  updateProject(id: number, patch: Partial<Pick<Project, 'public' | 'storageLimit'>>): Promise<void>;
  deleteProject(id: number): Promise<void>;
  addMember(projectId: number, userId: number, roleId: RoleId): Promise<Member>;
  listMembers(projectId: number): Promise<Member[]>;
  memberById(projectId: number, id: number): Promise<Member | null>;
  roleOf(projectId: number, userId: number): Promise<RoleId | null>;
  updateMember(projectId: number, id: number, roleId: RoleId): Promise<void>;
  removeMember(projectId: number, id: number): Promise<void>;

  // robots
  createRobot(r: Omit<Robot, 'id' | 'createdAt'>): Promise<Robot>;
  robotByName(name: string): Promise<Robot | null>;
  robotById(id: number): Promise<Robot | null>;
  listRobots(): Promise<Robot[]>;
  deleteRobot(id: number): Promise<void>;

  // repositories
  ensureRepository(projectId: number, name: string): Promise<Repository>;
  repositoryByName(name: string): Promise<Repository | null>;
  listRepositories(after: string, limit: number): Promise<Repository[]>;
  listProjectRepositories(projectId: number): Promise<Repository[]>;
  deleteRepository(id: number): Promise<void>;

  // blobs: a blob row exists only once its file is in place
  blobSize(digest: string): Promise<number | null>;
  /** Runs `place` (moves verified bytes into place) and records + links the blob, atomically; throws QuotaExceeded. */
  commitBlob(repoId: number, projectId: number, quotaLimit: number, digest: string, size: number, place: () => void): Promise<void>;
  /** Links an existing blob into a repository (cross-repository mount); false when the blob is unknown. */
  linkBlob(repoId: number, projectId: number, quotaLimit: number, digest: string): Promise<boolean>;
  isLinked(repoId: number, digest: string): Promise<boolean>;
  /** The size of a blob linked into the repository; null when it is not (one query: the pull path asks per blob). */
  linkedBlobSize(repoId: number, digest: string): Promise<number | null>;
  unlinkBlob(repoId: number, digest: string): Promise<boolean>;
  projectUsage(projectId: number): Promise<number>;

  // manifests and tags
  /** Returns the referenced digests that are missing (and stores nothing) or [] on success. */
  putManifest(m: NewManifest, place: () => void): Promise<string[]>;
  manifest(repoId: number, digest: string): Promise<ManifestRecord | null>;
  tag(repoId: number, name: string): Promise<Tag | null>;
  listTags(repoId: number, after: string, limit: number): Promise<string[]>;
  tagsOf(repoId: number, digest: string): Promise<string[]>;
  /** Every tag of a repository with when it was last pushed. */
  tagRecords(repoId: number): Promise<Tag[]>;
  /** Manifests pushed before `createdBefore` (ms) that no tag points at, no index includes and that refer to no subject. */
  untaggedManifests(createdBefore: number): Promise<{ repoId: number; digest: string }[]>;
  listManifests(repoId: number): Promise<ManifestRecord[]>;
  referrers(repoId: number, subject: string): Promise<ManifestRecord[]>;
  deleteManifest(repoId: number, digest: string): Promise<boolean>;
  deleteTag(repoId: number, name: string): Promise<boolean>;

  // upload sessions
  createUpload(id: string, repoId: number): Promise<void>;
  upload(id: string): Promise<Upload | null>;
  deleteUpload(id: string): Promise<void>;
  uploadsBefore(time: number): Promise<Upload[]>;

  // audit log
  addAudit(e: Omit<AuditEntry, 'id' | 'opTime'>): Promise<void>;
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;

  // tag immutability
  addImmutableRule(projectId: number, repoPattern: string, tagPattern: string): Promise<ImmutableRule>;
  immutableRules(projectId: number): Promise<ImmutableRule[]>;
  deleteImmutableRule(projectId: number, id: number): Promise<void>;

  // webhooks
  addWebhook(w: Omit<Webhook, 'id'>): Promise<Webhook>;
  webhooks(projectId: number): Promise<Webhook[]>;
  deleteWebhook(projectId: number, id: number): Promise<void>;

  // garbage collection
  /** Every digest some manifest row needs: the manifests themselves and what they reference. */
  referencedDigests(): Promise<Set<string>>;
  /** Deletes an unreferenced blob not touched since `notAfter` (ms): runs `remove` then drops its rows, atomically. */
  deleteBlobIfUnreferenced(digest: string, notAfter: number, remove: () => void): Promise<boolean>;
  blobTouchedAt(digest: string): Promise<number | null>;
  /** Records a run owned by process `owner` (see jobs/liveness.ts). */
  startGc(dryRun: boolean, trigger: JobTrigger, owner: string): Promise<GcRun>;
  /** Marks runs whose owner is no longer alive failed; returns how many. */
  failAbandonedGc(now: number): Promise<number>;
  finishGc(id: number, status: 'succeeded' | 'failed', result: unknown): Promise<void>;
  gcRun(id: number): Promise<GcRun | null>;
  listGcRuns(): Promise<GcRun[]>;

  // registry-wide settings (e.g. the GC schedule)
  setting(name: string): Promise<string | null>;
  setSetting(name: string, value: string): Promise<void>;
}
