// `bonneville delete --name N [--force] [--remove-volume-stores]`.
import { parseArgs } from 'node:util';
import { deleteVch } from '../../lifecycle/delete.ts';
import { homeOption, lifecycleOf, say } from './lifecycle-common.ts';

export async function deleteCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...homeOption, name: { type: 'string' }, force: { type: 'boolean', default: false }, 'remove-volume-stores': { type: 'boolean', default: false } } });
  if (!values.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(values.home);
  await deleteVch(registry, values.name, manager, { force: values.force!, removeVolumeStores: values['remove-volume-stores']! });
  say(`VCH ${values.name} deleted${values['remove-volume-stores'] ? ' with its volume stores' : ' (volume stores kept)'}.`);
}
