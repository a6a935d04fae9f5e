// The Dockerfile as the builder walks it: dockerfile-ast parses the text; this turns its instructions
// into plain records (keyword, argument text, flags, JSON form) grouped into stages, refusing what
// dockerd refuses at parse time (unknown instructions, no FROM, a build arg before FROM that is not ARG).
import { DockerfileParser } from 'dockerfile-ast';
import type { Flag, Instruction as AstInstruction } from 'dockerfile-ast';
import { invalid } from '../../portlayer/errors.ts';

export interface Instruction {
  /** Upper-case: FROM, RUN, … */
  keyword: string;
  /** The arguments as written, line continuations joined (flags excluded). */
  args: string;
  /** `--name=value` flags, in order. */
  flags: Array<{ name: string; value: string | null }>;
  /** The exec (JSON array) form's strings, when the instruction is written that way. */
  json?: string[];
  /** The instruction as the build output shows it ("COPY --chown=1:1 a /b"). */
  original: string;
  line: number;
}

export interface Stage {
  from: Instruction;
  /** The image or stage FROM names, unexpanded. */
  base: string;
  /** `AS name`, lower-cased as dockerd does. */
  name?: string;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARG instructions before the first FROM: they may be used in FROM lines. */
  globalArgs: Instruction[];
  stages: Stage[];
  escape: string;
}

const KNOWN = new Set(['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** One instruction's text ("RUN echo hi") into a record, for ONBUILD triggers and the `labels` option. */
export function parseInstructionText(text: string, line = 0): Instruction {
  const parsed = parseDockerfile(`FROM scratch\n${text}\n`, true);
  const instruction = parsed.stages[0]?.instructions[0];
  if (!instruction) throw invalid(`cannot parse instruction: ${text}`);
  return { ...instruction, line };
}

export function parseDockerfile(text: string, fragment = false): ParsedDockerfile {
  const document = DockerfileParser.parse(text);
  const escape = document.getEscapeCharacter();
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const node of document.getInstructions()) {
    const instruction = toInstruction(node);
    if (!KNOWN.has(instruction.keyword)) {
      throw invalid(`dockerfile parse error line ${instruction.line}: unknown instruction: ${node.getInstruction()}`);
    }
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.trim().split(/\s+/);
      if (!words[0]) throw invalid(`dockerfile parse error line ${instruction.line}: FROM requires either one or three arguments`);
      if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) {
        throw invalid(`dockerfile parse error line ${instruction.line}: FROM requires either one or three arguments`);
      }
      const name = words[2]?.toLowerCase();
      if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw invalid(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
      stages.push({ from: instruction, base: words[0], name, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw invalid(`dockerfile parse error line ${instruction.line}: no build stage in current context`);
      globalArgs.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  if (stages.length === 0 && !fragment) throw invalid('the Dockerfile (Dockerfile) cannot be empty');
  return { globalArgs, stages, escape };
}

function toInstruction(node: AstInstruction): Instruction {
  const keyword = node.getKeyword().toUpperCase();
  const line = node.getRange().start.line + 1;
  // COPY, ADD, RUN, HEALTHCHECK (and FROM) take `--name=value` flags before their arguments.
  const withFlags = node as AstInstruction & { getFlags?: () => Flag[] };
  const flags = (withFlags.getFlags?.() ?? []).map((f) => ({ name: f.getName(), value: f.getValue() }));
  const args = (node.getArgumentsContent() ?? '').trim();
  const json = jsonForm(args);
  // As dockerd shows it: continuation lines joined, their indentation kept.
  const original = [node.getInstruction(), ...(withFlags.getFlags?.() ?? []).map((f) => f.toString()), args].filter(Boolean).join(' ');
  return { keyword, args, flags, json, original, line };
}

/** dockerd takes the exec form only when the arguments are a JSON array of strings; else the shell form. */
function jsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export type { AstInstruction };
