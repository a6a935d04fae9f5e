// The `bonneville` CLI and the docker CLI against the VCHs of one temporary BONNEVILLE_HOME, as the
// lifecycle suites (local and vSphere) drive them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKER, runCommand, type CommandResult } from '../helpers/vch.ts';
import type { VchSettings } from '../../src/lifecycle/settings.ts';

// The installed tree's node and CLI, as the lifecycle code itself names them.
export { NODE, BONNEVILLE as CLI } from '../../src/lifecycle/engine-command.ts';
import { NODE, BONNEVILLE as CLI } from '../../src/lifecycle/engine-command.ts';

export class LifecycleCli {
  readonly home: string;
  private readonly extraEnv: NodeJS.ProcessEnv;

  constructor(home: string, extraEnv: NodeJS.ProcessEnv = {}) {
    this.home = home;
    this.extraEnv = extraEnv;
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, BONNEVILLE_HOME: this.home, ...this.extraEnv };
  }

  bonneville(args: string[]): Promise<CommandResult> {
    return runCommand(NODE, [CLI, ...args], { env: this.env(), timeoutMs: 300_000 });
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.bonneville(args);
    assert.equal(r.code, 0, `bonneville ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  settingsOf(name: string): VchSettings {
    return JSON.parse(readFileSync(join(this.home, 'vchs', name, 'settings.json'), 'utf8')) as VchSettings;
  }

  /** The docker CLI over the VCH's TLS endpoint, with the variables from its env file. */
  docker(name: string, args: string[]): Promise<CommandResult> {
    const vars = Object.fromEntries(readFileSync(join(this.home, 'vchs', name, `${name}.env`), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
    return runCommand(DOCKER, args, { env: { ...process.env, ...vars }, timeoutMs: 240_000 });
  }

  async dockerOk(name: string, args: string[]): Promise<string> {
    const r = await this.docker(name, args);
    assert.equal(r.code, 0, `docker ${args.join(' ')} on ${name}: ${r.stderr}\n${this.engineLogTail(name)}`);
    return r.stdout.trim();
  }

  engineLogTail(name: string): string {
    try { return readFileSync(join(this.settingsOf(name).datastore, 'engine.log'), 'utf8').slice(-1500); } catch { return ''; }
  }
}
