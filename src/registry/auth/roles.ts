import type { RoleId } from '../db/metadata.ts';

export type RepoAction = 'pull' | 'push' | 'delete';

export const roleNames: Record<RoleId, string> = { 1: 'projectAdmin', 2: 'developer', 3: 'guest', 4: 'maintainer', 5: 'limitedGuest' };

/** What each project role may do to the project's repositories. */
export const repoActionsOfRole: Record<RoleId, RepoAction[]> = {
  1: ['pull', 'push', 'delete'],
  4: ['pull', 'push', 'delete'],
  2: ['pull', 'push'],
  3: ['pull'],
  5: ['pull'],
};

/** Management-API capabilities per role (system admins have all of them). */
export type ProjectCapability = 'read' | 'update' | 'delete' | 'readMembers' | 'manageMembers' | 'manageRobots' | 'readLogs' | 'manageImmutability';

export const capabilitiesOfRole: Record<RoleId, ProjectCapability[]> = {
  1: ['read', 'update', 'delete', 'readMembers', 'manageMembers', 'manageRobots', 'readLogs', 'manageImmutability'],
  4: ['read', 'readMembers', 'readLogs', 'manageImmutability'],
  2: ['read', 'readMembers', 'readLogs'],
  3: ['read', 'readMembers', 'readLogs'],
  5: ['read'],
};

export function isRoleId(v: unknown): v is RoleId {
  return v === 1 || v === 2 || v === 3 || v === 4 || v === 5;
}
