// `bonneville inspect --name N [--format env|json]`: the VCH's settings and what runs now.
import { parseArgs } from 'node:util';
import { viewOf } from '../../lifecycle/views.ts';
import { envLines } from '../../lifecycle/certificates.ts';
import { homeOption, lifecycleOf } from './lifecycle-common.ts';

export async function inspect(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...homeOption, name: { type: 'string' }, format: { type: 'string', default: 'json' } } });
  if (!values.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(values.home);
  const settings = registry.read(values.name);
  if (values.format === 'env') {
    process.stdout.write(envLines(settings));
    return;
  }
  if (values.format !== 'json') throw new Error(`--format wants env or json, got ${values.format}`);
  const view = await viewOf(settings, manager);
  process.stdout.write(JSON.stringify({ ...view, settings }, null, 2) + '\n');
}
