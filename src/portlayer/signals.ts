import { constants } from 'node:os';
import { invalid } from './errors.ts';

const SIGNALS = constants.signals as Record<string, number>;

/** "SIGTERM", "TERM", "term" or "15" → 15. */
export function parseSignal(value: string | number): number {
  if (typeof value === 'number') return value;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0 && n < 65) return n;
  } else {
    const upper = text.toUpperCase();
    const n = SIGNALS[upper.startsWith('SIG') ? upper : `SIG${upper}`];
    if (n !== undefined) return n;
  }
  throw invalid(`Invalid signal: ${value}`);
}

export const SIGKILL = SIGNALS.SIGKILL;
