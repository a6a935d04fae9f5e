// What a fake container VM runs: a tiny shell, so that one conformance test drives qemu's busybox and
// the fake alike. `sh -c "a; b"` or a plain argv; commands: echo, exit N, true, false, sleep N, cat
// (stdin to stdout until stdin closes). Anything else cannot start (exit 127, as a missing binary).

export type Step =
  | { op: 'echo'; text: string }
  | { op: 'exit'; code: number }
  | { op: 'status'; code: number }
  | { op: 'sleep'; seconds: number }
  | { op: 'cat' };

export class UnknownCommand extends Error {
  readonly command: string;
  constructor(command: string) {
    super(`exec: "${command}": executable file not found in $PATH`);
    this.command = command;
  }
}

export function parseScript(argv: string[]): Step[] {
  const commands = argv[0] === 'sh' && argv[1] === '-c' ? (argv[2] ?? '').split(';').map((c) => c.trim().split(/\s+/).filter(Boolean)) : [argv];
  return commands.filter((c) => c.length > 0).map(stepOf);
}

function stepOf(words: string[]): Step {
  const [command, ...args] = words;
  switch (command) {
    case 'echo': return { op: 'echo', text: `${args.join(' ').replace(/^"(.*)"$/, '$1')}\n` };
    case 'exit': return { op: 'exit', code: Number(args[0] ?? 0) };
    case 'true': return { op: 'status', code: 0 };
    case 'false': return { op: 'status', code: 1 };
    case 'sleep': return { op: 'sleep', seconds: Number(args[0] ?? 0) };
    case 'cat': return { op: 'cat' };
    default: throw new UnknownCommand(command);
  }
}
