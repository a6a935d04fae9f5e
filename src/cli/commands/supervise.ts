// `bonneville supervise [--home DIR]`: the supervisor daemon in the foreground (create and start run it
// in the background on demand). It exits at once when another supervisor has this home.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { Supervisor } from '../../lifecycle/supervisor.ts';
import { bonnevilleHome } from '../../lifecycle/settings.ts';

export async function supervise(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' } } });
  const supervisor = new Supervisor(resolve(bonnevilleHome(values.home)));
  if (!(await supervisor.run())) {
    console.error('bonneville: a supervisor already runs for this home');
    return;
  }
  // Engines keep running when the supervisor goes: the next one adopts them.
  const quit = () => { supervisor.close(); process.exit(0); };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
}
