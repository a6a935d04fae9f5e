// `bonneville ls`: every VCH with its state, endpoint, version, containers and limits.
import { parseArgs } from 'node:util';
import { viewOf, limitsText } from '../../lifecycle/views.ts';
import { homeOption, lifecycleOf, say } from './lifecycle-common.ts';

export async function ls(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...homeOption } });
  const { registry, manager } = lifecycleOf(values.home);
  const rows = [['NAME', 'STATE', 'ENDPOINT', 'VERSION', 'CONTAINERS', 'LIMITS']];
  for (const s of registry.list()) {
    const view = await viewOf(s, manager);
    const version = view.upgrade.available ? `${view.version} (upgrade to ${view.upgrade.installed})` : view.version;
    const containers = view.containers ? `${view.containers.running}/${view.containers.total} running` : '-';
    rows.push([view.name, view.state, view.endpoint, version, containers, limitsText(view.limits)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) say(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}
