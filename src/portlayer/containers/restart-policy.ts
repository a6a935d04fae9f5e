// Restart policies: whether a container whose process ended gets started again, and after how long.
// Pure decisions; the container service owns the timers. The backoff is Docker's: 100 ms, doubling
// per restart up to a minute, back to 100 ms once a run lasted 10 s (a service that crashes now and
// then is not punished like one that crash-loops).

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: give up after this many restarts; 0 means no limit. */
  maximumRetryCount: number;
}

export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the backoff. */
export const STABLE_RUN_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  /** Restarts done by the policy since the user last started the container. */
  restartCount: number;
  manuallyStopped: boolean;
  /** How long the process ran before it exited. */
  ranMs: number;
  /** The delay used before the previous restart; 0 when there was none. */
  previousDelayMs: number;
}

/** Whether the policy wants a restart after this exit (the user's stop and kill always win). */
export function shouldRestart(policy: RestartPolicy | undefined, facts: Pick<ExitFacts, 'exitCode' | 'restartCount' | 'manuallyStopped'>): boolean {
  if (!policy || facts.manuallyStopped) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return facts.exitCode !== 0 && (policy.maximumRetryCount === 0 || facts.restartCount < policy.maximumRetryCount);
    default:
      return false;
  }
}

/** The wait before the next restart: doubled from the last one, unless the run was long enough to reset. */
export function nextDelayMs(facts: Pick<ExitFacts, 'ranMs' | 'previousDelayMs'>): number {
  if (facts.previousDelayMs === 0 || facts.ranMs >= STABLE_RUN_MS) return FIRST_DELAY_MS;
  return Math.min(facts.previousDelayMs * 2, MAX_DELAY_MS);
}

/**
 * At engine start, for a container that is not running: dockerd starts `always` ones whatever
 * happened, `unless-stopped` ones unless the user stopped them, `on-failure` ones that failed and have
 * retries left. A container never started is left alone.
 */
export function startsWithEngine(policy: RestartPolicy | undefined, facts: { everStarted: boolean; exitCode: number; restartCount: number; manuallyStopped: boolean }): boolean {
  if (!policy || !facts.everStarted) return false;
  if (policy.name === 'always') return true;
  return shouldRestart(policy, facts);
}
