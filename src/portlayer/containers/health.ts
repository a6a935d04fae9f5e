// Healthchecks: a probe command run inside the running container on a timer, and the verdict Docker
// derives from its results (starting → healthy | unhealthy, a failing streak, the last few results).
// The probe is an exec in the container's VM; the verdict is saved with the container's state.
import type { VmHandle } from '../backend.ts';
import { SIGKILL } from '../signals.ts';

/** What to probe and how often; durations already resolved (no zero-means-default here). */
export interface HealthcheckSpec {
  /** Run as an exec in the container (a shell form already turned into sh -c). */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures that make the container unhealthy. */
  retries: number;
  /** Failures this soon after the start do not count (a success still makes it healthy). */
  startPeriodMs: number;
  /** The probe interval during the start period. */
  startIntervalMs: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
  /** The most recent results, oldest first. */
  log: HealthResult[];
}

const KEPT_RESULTS = 5;
const MAX_OUTPUT_BYTES = 4096;

export function startingHealth(): HealthState {
  return { status: 'starting', failingStreak: 0, log: [] };
}

/** The verdict after one more result (Docker's rules: exit 0 passes, anything else fails). */
export function applyResult(state: HealthState, spec: HealthcheckSpec, result: HealthResult, startedAtMs: number): HealthState {
  const log = [...state.log, result].slice(-KEPT_RESULTS);
  if (result.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  const inStartPeriod = state.status === 'starting' && Date.parse(result.start) - startedAtMs < spec.startPeriodMs;
  if (inStartPeriod) return { ...state, log };
  const failingStreak = state.failingStreak + 1;
  return { status: failingStreak >= spec.retries ? 'unhealthy' : state.status, failingStreak, log };
}

/** Runs the probe once in the VM; a probe that cannot start or overruns its timeout is a failure (-1). */
export async function probe(vm: VmHandle, spec: HealthcheckSpec): Promise<HealthResult> {
  const start = new Date().toISOString();
  const done = (exitCode: number, output: string): HealthResult => ({ start, end: new Date().toISOString(), exitCode, output });
  let session;
  try {
    session = await vm.exec({ argv: spec.argv, env: [], workingDir: '', user: '', tty: false, openStdin: false });
  } catch (err) {
    return done(-1, err instanceof Error ? err.message : String(err));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const collected = (async () => {
    for await (const chunk of session.output) {
      if (size < MAX_OUTPUT_BYTES) chunks.push(chunk.data.subarray(0, MAX_OUTPUT_BYTES - size));
      size += chunk.data.length;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), spec.timeoutMs); });
  const outcome = await Promise.race([session.exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    session.signal(SIGKILL);
    return done(-1, `Health check exceeded timeout (${formatSeconds(spec.timeoutMs)})`);
  }
  await collected;
  return done(outcome, Buffer.concat(chunks).toString('utf8'));
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** What the monitor needs from the container it watches. */
export interface HealthTarget {
  spec: HealthcheckSpec;
  startedAtMs: number;
  /** The VM to probe now; undefined skips this round (paused, or on its way down). */
  probeVm(): VmHandle | undefined;
  current(): HealthState;
  /** A new verdict; `changed` when the status differs from the previous one. */
  update(state: HealthState, changed: boolean): void;
}

/** One container's probe loop: one probe at a time, the next one an interval after the last ended. */
export class HealthMonitor {
  private readonly target: HealthTarget;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(target: HealthTarget) {
    this.target = target;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const { spec, startedAtMs } = this.target;
    const starting = this.target.current().status === 'starting' && Date.now() - startedAtMs < spec.startPeriodMs;
    this.timer = setTimeout(() => void this.round(), starting ? spec.startIntervalMs : spec.intervalMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const vm = this.target.probeVm();
    if (vm) {
      const result = await probe(vm, this.target.spec);
      if (this.stopped) return;
      const before = this.target.current();
      const after = applyResult(before, this.target.spec, result, this.target.startedAtMs);
      this.target.update(after, after.status !== before.status);
    }
    this.schedule();
  }
}
