// Database rows → the metadata interface's records. Numbers go through Number() because
// PostgreSQL returns BIGINT and aggregates as strings.
import type { GcRun, ManifestRecord, Member, Project, Repository, Robot, RoleId, Tag, Upload, User } from './metadata.ts';
import type { Row } from './sql.ts';

const opt = <T>(v: unknown, f: (v: unknown) => T): T | null => (v === null || v === undefined ? null : f(v));

export function toUser(r: Row | undefined): User | null {
  return r ? { id: Number(r.id), username: String(r.username), passwordHash: String(r.password_hash), sysadmin: Number(r.sysadmin) === 1,
    email: String(r.email), realname: String(r.realname), createdAt: Number(r.created_at) } : null;
}
export function toProject(r: Row | undefined): Project | null {
  return r ? { id: Number(r.id), name: String(r.name), public: Number(r.public) === 1, storageLimit: Number(r.storage_limit), createdAt: Number(r.created_at) } : null;
}
export function toMember(r: Row): Member {
  return { id: Number(r.id), projectId: Number(r.project_id), userId: Number(r.user_id), username: String(r.username), roleId: Number(r.role_id) as RoleId };
}
export function toRobot(r: Row | undefined): Robot | null {
  return r ? { id: Number(r.id), name: String(r.name), secretHash: String(r.secret_hash), description: String(r.description),
    permissions: JSON.parse(String(r.permissions)), projectId: opt(r.project_id, Number), expiresAt: Number(r.expires_at), disabled: Number(r.disabled) === 1, createdAt: Number(r.created_at) } : null;
}
export function toRepo(r: Row | undefined): Repository | null {
  return r ? { id: Number(r.id), projectId: Number(r.project_id), name: String(r.name), createdAt: Number(r.created_at) } : null;
}
export function toManifest(r: Row | undefined): ManifestRecord | null {
  return r ? { repoId: Number(r.repo_id), digest: String(r.digest), mediaType: String(r.media_type), size: Number(r.size),
    subject: opt(r.subject, String), artifactType: opt(r.artifact_type, String),
    annotations: opt(r.annotations, (a) => JSON.parse(String(a))), createdAt: Number(r.created_at) } : null;
}
export function toTag(r: Row | undefined): Tag | null {
  return r ? { name: String(r.name), digest: String(r.digest), updatedAt: Number(r.updated_at) } : null;
}
export function toUpload(r: Row | undefined): Upload | null {
  return r ? { id: String(r.id), repoId: Number(r.repo_id), createdAt: Number(r.created_at) } : null;
}
export function toGcRun(r: Row | undefined): GcRun | null {
  return r ? { id: Number(r.id), status: String(r.status) as GcRun['status'], dryRun: Number(r.dry_run) === 1, trigger: r.trigger_kind === 'SCHEDULE' ? 'SCHEDULE' : 'MANUAL', startedAt: Number(r.started_at),
    finishedAt: opt(r.finished_at, Number), result: opt(r.result, (x) => JSON.parse(String(x))) } : null;
}
