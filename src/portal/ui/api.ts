// The UI's only way to the server: the documented REST API, with the session cookie.
export class ApiError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api${path}`, {
    method, credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: any = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!res.ok) {
    if (res.status === 401 && path !== '/login') window.dispatchEvent(new CustomEvent('bv-logged-out'));
    throw new ApiError(res.status, data?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

export interface Me { username: string; sysadmin: boolean; projects: { name: string; role: 'admin' | 'member' | 'viewer' | null }[] }

/** The caller's role for a project ('admin' everywhere for administrators). */
export function roleIn(me: Me, project: string | null): string | null {
  if (me.sysadmin) return 'admin';
  if (!project) return null;
  return me.projects.find((p) => p.name === project)?.role ?? null;
}

export const canOperate = (me: Me, project: string | null) => ['admin', 'member'].includes(roleIn(me, project) ?? '');

export function bytes(n: number): string {
  if (!n) return '0 B';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(u.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${u[i]}`;
}
