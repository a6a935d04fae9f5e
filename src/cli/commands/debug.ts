// `bonneville debug --name N [--log-level debug|info] [--bundle FILE]`.
import { parseArgs } from 'node:util';
import { applySettings } from '../../lifecycle/configure.ts';
import { writeDebugBundle } from '../../lifecycle/debug-bundle.ts';
import { viewOf } from '../../lifecycle/views.ts';
import { homeOption, lifecycleOf, say } from './lifecycle-common.ts';

export async function debug(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...homeOption, name: { type: 'string' }, 'log-level': { type: 'string' }, bundle: { type: 'string' } } });
  if (!values.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(values.home);
  let settings = registry.read(values.name);
  const level = values['log-level'];
  if (level !== undefined) {
    if (level !== 'debug' && level !== 'info') throw new Error(`--log-level wants debug or info, got ${level}`);
    settings = { ...settings, logLevel: level };
    await applySettings(registry, settings, manager);
    say(`VCH ${settings.name} logs at level ${level} now (engine restarted; containers kept running).`);
  }
  if (values.bundle) {
    const view = await viewOf(settings, manager);
    const files = await writeDebugBundle(settings, values.bundle, { state: view.state, engineVersion: view.engineVersion ?? null });
    say(`Wrote ${values.bundle}: ${files.join(', ')}`);
  }
}
