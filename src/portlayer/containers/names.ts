// Docker-style names: user-given ones are validated, missing ones are made up as adjective_surname.
import { randomInt } from 'node:crypto';
import { invalid } from '../errors.ts';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const ADJECTIVES = ['agile', 'bold', 'brave', 'calm', 'clever', 'eager', 'fast', 'gentle', 'happy', 'keen',
  'lucid', 'merry', 'nimble', 'proud', 'quick', 'quiet', 'sharp', 'steady', 'swift', 'vivid', 'wise', 'zealous'];
const SURNAMES = ['babbage', 'bardeen', 'curie', 'dijkstra', 'euler', 'faraday', 'gauss', 'hopper', 'kepler',
  'knuth', 'lamport', 'liskov', 'lovelace', 'maxwell', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson',
  'torvalds', 'turing', 'wozniak'];

export function validateName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!NAME_PATTERN.test(bare)) {
    throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return bare;
}

export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(1000)}`;
    if (!taken(name)) return name;
  }
}
