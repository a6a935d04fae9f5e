// `bonneville upgrade --name N` and `bonneville rollback --name N`.
import { parseArgs } from 'node:util';
import { rollbackVch, upgradeVch } from '../../lifecycle/configure.ts';
import { homeOption, lifecycleOf, say } from './lifecycle-common.ts';

export async function upgrade(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...homeOption, name: { type: 'string' }, force: { type: 'boolean', default: false } } });
  if (!values.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(values.home);
  const next = await upgradeVch(registry, values.name, manager, values.force!);
  say(`VCH ${next.name} upgraded from ${next.upgrade!.from} to ${next.version}; running containers kept running.`);
}

export async function rollback(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...homeOption, name: { type: 'string' } } });
  if (!values.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(values.home);
  const next = await rollbackVch(registry, values.name, manager);
  say(`VCH ${next.name} rolled back from ${next.upgrade!.from} to ${next.version}.`);
}
