// The parts of a create request that govern a container's life after start: HostConfig.RestartPolicy
// and Config.Healthcheck (merged with the image's HEALTHCHECK the way dockerd merges them), checked
// with dockerd's rules and turned into the port layer's neutral shapes.
import type { RestartPolicy, RestartPolicyName } from '../../portlayer/containers/restart-policy.ts';
import type { HealthcheckSpec } from '../../portlayer/containers/health.ts';
import { invalid } from '../../portlayer/errors.ts';

/** Config.Healthcheck on the wire: durations in nanoseconds, 0 meaning "the default" (or the image's). */
export interface DockerHealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

const POLICIES = new Set<string>(['no', 'always', 'unless-stopped', 'on-failure']);

/** undefined for "no" (nothing to do after an exit). */
export function dockerRestartPolicy(asked: { Name?: string; MaximumRetryCount?: number } | undefined, autoRemove: boolean): RestartPolicy | undefined {
  const name = asked?.Name || 'no';
  const max = asked?.MaximumRetryCount ?? 0;
  if (!POLICIES.has(name)) {
    throw invalid(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (name !== 'on-failure' && max !== 0) throw invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  if (max < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
  if (name === 'no') return undefined;
  if (autoRemove) throw invalid("can't create 'AutoRemove' container with restart policy");
  return { name: name as RestartPolicyName, maximumRetryCount: max };
}

/** The request's healthcheck with the image's filling what the request leaves unset (dockerd's merge). */
export function mergeHealthcheck(asked: DockerHealthConfig | null | undefined, image: unknown): DockerHealthConfig | undefined {
  const fromImage = (image ?? undefined) as DockerHealthConfig | undefined;
  if (!asked) return fromImage;
  if (!fromImage) return asked;
  return {
    Test: asked.Test && asked.Test.length > 0 ? asked.Test : fromImage.Test,
    Interval: asked.Interval || fromImage.Interval,
    Timeout: asked.Timeout || fromImage.Timeout,
    StartPeriod: asked.StartPeriod || fromImage.StartPeriod,
    StartInterval: asked.StartInterval || fromImage.StartInterval,
    Retries: asked.Retries || fromImage.Retries,
  };
}

const MS = 1_000_000;
const MIN_DURATION_NS = MS;
const DEFAULTS = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };

/** The probe to run; undefined when there is none or it is switched off (["NONE"]). */
export function dockerHealthcheck(merged: DockerHealthConfig | undefined): HealthcheckSpec | undefined {
  if (!merged) return undefined;
  for (const field of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const value = merged[field] ?? 0;
    if (value !== 0 && value < MIN_DURATION_NS) throw invalid(`${field} in Healthcheck cannot be less than 1ms`);
  }
  if ((merged.Retries ?? 0) < 0) throw invalid('Retries in Healthcheck cannot be negative');
  const test = merged.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  let argv: string[];
  if (test[0] === 'CMD') argv = test.slice(1);
  else if (test[0] === 'CMD-SHELL') argv = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else throw invalid(`unknown Healthcheck type '${test[0]}'`);
  if (argv.length === 0) throw invalid('Healthcheck has no command');
  const ms = (ns: number | undefined, fallback: number) => (ns ? Math.round(ns / MS) : fallback);
  return {
    argv,
    intervalMs: ms(merged.Interval, DEFAULTS.interval),
    timeoutMs: ms(merged.Timeout, DEFAULTS.timeout),
    startPeriodMs: ms(merged.StartPeriod, DEFAULTS.startPeriod),
    startIntervalMs: ms(merged.StartInterval, DEFAULTS.startInterval),
    retries: merged.Retries || DEFAULTS.retries,
  };
}
