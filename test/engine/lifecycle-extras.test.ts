// docker pause/unpause, restart policies and healthchecks, driven with the real docker CLI against a
// real VCH. Deadlines are generous and nothing asserts how fast things happen: VMs may run under TCG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('extras');

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
});

async function inspect(name: string): Promise<Record<string, any>> {
  const out = await vch.docker(['inspect', name]);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout)[0];
}

/** Polls until check() returns a value (not undefined), or fails with the last value seen. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${vch.engineLog.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function psStatus(name: string): Promise<string> {
  return (await vch.docker(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Status}}'])).stdout.trim();
}

async function actions(name: string, since: number): Promise<string[]> {
  const until = Math.floor(Date.now() / 1000) + 1;
  const events = await vch.docker(['events', '--since', String(since), '--until', String(until), '--filter', `container=${name}`, '--format', '{{.Action}}']);
  assert.equal(events.code, 0, events.stderr);
  return events.stdout.trim().split('\n').filter(Boolean);
}

/** The QEMU process of one container. */
function vmPidOf(id: string): number | undefined {
  return vch.qemuPids().find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(id));
}

const COUNTER = 'i=0; while true; do echo $i > /tmp/count; echo $i; i=$((i+1)); sleep 0.2; done';

test('pause freezes the VM, unpause thaws it; ps, inspect, events and exec see it; stop ends a paused container', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const run = await vch.docker(['run', '-d', '--name', 'frozen', 'busybox', 'sh', '-c', COUNTER]);
  assert.equal(run.code, 0, run.stderr);
  await eventually('the counter to tick', async () => ((await vch.docker(['logs', 'frozen'])).stdout.split('\n').length > 3 ? true : undefined));

  const pause = await vch.docker(['pause', 'frozen']);
  assert.equal(pause.code, 0, pause.stderr);
  const state = (await inspect('frozen')).State;
  assert.equal(state.Status, 'paused');
  assert.equal(state.Paused, true);
  assert.equal(state.Running, true);
  assert.match(await psStatus('frozen'), /^Up .* \(Paused\)$/);
  assert.match((await vch.docker(['ps', '--filter', 'status=paused', '--format', '{{.Names}}'])).stdout, /frozen/);
  assert.equal((await vch.docker(['info', '--format', '{{.ContainersPaused}}'])).stdout.trim(), '1');
  const again = await vch.docker(['pause', 'frozen']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already paused/);

  const exec = await vch.docker(['exec', 'frozen', 'true']);
  assert.notEqual(exec.code, 0);
  assert.match(exec.stderr, /is paused, unpause the container before exec/);

  // The log only grows while the guest runs: a frozen one writes nothing.
  const before = (await vch.docker(['logs', 'frozen'])).stdout;
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal((await vch.docker(['logs', 'frozen'])).stdout, before, 'the counter does not advance while paused');

  const unpause = await vch.docker(['unpause', 'frozen']);
  assert.equal(unpause.code, 0, unpause.stderr);
  assert.equal((await inspect('frozen')).State.Status, 'running');
  await eventually('the counter to tick again', async () => ((await vch.docker(['logs', 'frozen'])).stdout.length > before.length ? true : undefined));
  const notPaused = await vch.docker(['unpause', 'frozen']);
  assert.match(notPaused.stderr, /is not paused/);
  // The guest's clock stood still for the 5 s it was frozen; after the thaw it is the host's again.
  const date = await vch.docker(['exec', 'frozen', 'date', '+%s']);
  assert.equal(date.code, 0, date.stderr);
  const drift = Number(date.stdout.trim()) - Date.now() / 1000;
  assert.ok(Math.abs(drift) < 2.5, `guest clock off by ${drift} s after the pause`);

  await vch.docker(['pause', 'frozen']);
  const stop = await vch.docker(['stop', '-t', '2', 'frozen']);
  assert.equal(stop.code, 0, stop.stderr);
  const stopped = (await inspect('frozen')).State;
  assert.equal(stopped.Status, 'exited');
  assert.equal(stopped.Paused, false);
  const seen = await actions('frozen', since);
  assert.ok(seen.includes('pause') && seen.includes('unpause'), seen.join(','));
  assert.equal((await vch.docker(['rm', 'frozen'])).code, 0);
});

test('kill and rm -f work on a paused container', async () => {
  assert.equal((await vch.docker(['run', '-d', '--name', 'icy', 'busybox', 'sleep', '300'])).code, 0);
  assert.equal((await vch.docker(['pause', 'icy'])).code, 0);
  const rm = await vch.docker(['rm', 'icy']);
  assert.match(rm.stderr, /container is paused/);
  const kill = await vch.docker(['kill', 'icy']);
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal((await inspect('icy')).State.Status, 'exited');
  assert.equal((await vch.docker(['start', 'icy'])).code, 0);
  assert.equal((await vch.docker(['pause', 'icy'])).code, 0);
  const rmf = await vch.docker(['rm', '-f', 'icy']);
  assert.equal(rmf.code, 0, rmf.stderr);
});

test('--restart on-failure:2 restarts a failing container twice, counts, then leaves it exited', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const run = await vch.docker(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3']);
  assert.equal(run.code, 0, run.stderr);
  const state = await eventually('two restarts and a final exit', async () => {
    const s = (await inspect('flaky'));
    return s.State.Status === 'exited' && s.RestartCount === 2 ? s : undefined;
  });
  assert.equal(state.State.ExitCode, 3);
  assert.deepEqual(state.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await inspect('flaky')).RestartCount, 2, 'no third restart');
  assert.equal((await vch.docker(['logs', 'flaky'])).stdout, 'run\nrun\nrun\n');
  assert.equal((await actions('flaky', since)).filter((a) => a === 'start').length, 3);
  await vch.docker(['rm', 'flaky']);
});

test('--restart always brings a crashed container back, but not one the user stopped', async () => {
  // The first run crashes; the writable disk is kept across restarts, so the second one stays up.
  const run = await vch.docker(['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sh', '-c',
    'if [ -f /crashed ]; then exec sleep 300; fi; touch /crashed; exit 1']);
  assert.equal(run.code, 0, run.stderr);
  await eventually('the restart', async () => {
    const s = await inspect('phoenix');
    return s.State.Status === 'running' && s.RestartCount === 1 ? true : undefined;
  });
  // A crash the user causes from inside (the process is killed) counts as a crash too. Detached: the
  // exec goes down with the container.
  const kill = await vch.docker(['exec', '-d', 'phoenix', 'sh', '-c', 'kill -9 $(pidof sleep)']);
  assert.equal(kill.code, 0, kill.stderr);
  await eventually('the second restart', async () => {
    const s = await inspect('phoenix');
    return s.State.Status === 'running' && s.RestartCount === 2 ? true : undefined;
  });
  const stop = await vch.docker(['stop', '-t', '1', 'phoenix']);
  assert.equal(stop.code, 0, stop.stderr);
  await new Promise((r) => setTimeout(r, 3000));
  const after = await inspect('phoenix');
  assert.equal(after.State.Status, 'exited', 'docker stop is final for a restart policy');
  assert.equal(after.RestartCount, 2);
});

test('after kill -9 of the engine: always containers come back, stopped unless-stopped ones do not, a pause persists', async () => {
  // phoenix (always) is stopped by the user: dockerd starts it again when it starts; so do we.
  const idle = await vch.docker(['run', '-d', '--name', 'quiet', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']);
  assert.equal(idle.code, 0, idle.stderr);
  assert.equal((await vch.docker(['stop', '-t', '1', 'quiet'])).code, 0);
  const cold = await vch.docker(['run', '-d', '--name', 'cold', 'busybox', 'sh', '-c', COUNTER]);
  assert.equal(cold.code, 0, cold.stderr);
  assert.equal((await vch.docker(['pause', 'cold'])).code, 0);
  const coldId = (await inspect('cold')).Id;

  await vch.killEngine();
  await vch.start();

  await eventually('phoenix to be started by the engine', async () => ((await inspect('phoenix')).State.Status === 'running' ? true : undefined));
  assert.equal((await inspect('quiet')).State.Status, 'exited', 'unless-stopped and stopped: stays stopped');
  const cs = (await inspect('cold')).State;
  assert.equal(cs.Status, 'paused');
  assert.ok(vmPidOf(coldId), 'the paused VM was adopted, not killed');
  const before = (await vch.docker(['logs', 'cold'])).stdout;
  assert.equal((await vch.docker(['unpause', 'cold'])).code, 0);
  await eventually('the adopted VM to run again', async () => ((await vch.docker(['logs', 'cold'])).stdout.length > before.length ? true : undefined));

  // The VM of an always container dies while no engine runs: the next engine starts it again.
  const phoenixId = (await inspect('phoenix')).Id;
  await vch.killEngine();
  process.kill(vmPidOf(phoenixId)!, 'SIGKILL');
  await eventually('the VM to go', async () => (vmPidOf(phoenixId) === undefined ? true : undefined));
  await vch.start();
  await eventually('phoenix to come back', async () => {
    const s = await inspect('phoenix');
    return s.State.Status === 'running' && s.State.Pid !== 0 && vmPidOf(phoenixId) ? true : undefined;
  });
  assert.equal((await vch.docker(['rm', '-f', 'phoenix', 'quiet', 'cold'])).code, 0);
});

test('a healthcheck goes starting → healthy, then unhealthy once its command fails', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const run = await vch.docker(['run', '-d', '--name', 'doctor', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '1s',
    '--health-timeout', '5s', '--health-retries', '2', 'busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 300']);
  assert.equal(run.code, 0, run.stderr);
  const first = (await inspect('doctor'));
  assert.ok(['starting', 'healthy'].includes(first.State.Health.Status), first.State.Health.Status);
  assert.deepEqual(first.Config.Healthcheck.Test, ['CMD-SHELL', 'test -f /tmp/ok']);
  await eventually('healthy', async () => ((await vch.docker(['inspect', '--format', '{{.State.Health.Status}}', 'doctor'])).stdout.trim() === 'healthy' ? true : undefined));
  assert.match(await psStatus('doctor'), /^Up .* \(healthy\)$/);
  assert.match((await vch.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}'])).stdout, /doctor/);

  assert.equal((await vch.docker(['exec', 'doctor', 'rm', '/tmp/ok'])).code, 0);
  await eventually('unhealthy', async () => ((await inspect('doctor')).State.Health.Status === 'unhealthy' ? true : undefined));
  assert.match(await psStatus('doctor'), /\(unhealthy\)$/);
  const health = (await inspect('doctor')).State.Health;
  assert.ok(health.FailingStreak >= 2);
  assert.ok(health.Log.length > 0 && health.Log.length <= 5);
  assert.equal(health.Log.at(-1).ExitCode, 1);
  const seen = await actions('doctor', since);
  assert.ok(seen.includes('health_status: healthy') && seen.includes('health_status: unhealthy'), seen.join(','));

  assert.equal((await vch.docker(['rm', '-f', 'doctor'])).code, 0);
  const failing = await vch.docker(['run', '-d', '--name', 'sick', '--health-cmd', 'exit 1', '--health-interval', '1s', '--health-retries', '1', 'busybox', 'sleep', '300']);
  assert.equal(failing.code, 0, failing.stderr);
  await eventually('unhealthy from the start', async () => ((await inspect('sick')).State.Health.Status === 'unhealthy' ? true : undefined));
  assert.equal((await vch.docker(['rm', '-f', 'sick'])).code, 0);
  assert.deepEqual(vch.qemuPids(), []);
});
