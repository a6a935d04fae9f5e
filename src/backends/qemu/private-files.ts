// Everything QEMU creates in the datastore — its output and console logs, pidfile, a template's memory
// file and migration state — is the container's (its environment in the logs, its memory): root only.
// QEMU opens those files with 0666 and lets the umask decide, so it is started under umask 077,
// whatever the engine's own umask (node cannot set a child's umask; sh does, then execs QEMU itself).
const UMASK_EXEC = 'umask 077 && exec "$0" "$@"';

/** The command and arguments that run `binary args` with umask 077, as the same process. */
export function withPrivateUmask(binary: string, args: string[]): [string, string[]] {
  return ['/bin/sh', ['-c', UMASK_EXEC, binary, ...args]];
}
