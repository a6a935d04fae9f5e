// Where one VM start spends its time: named steps, each with the milliseconds since the previous
// one. Logged with every start ("phases: spawn 12ms, monitor 40ms, ..."); the bench reads these lines
// to show per-phase medians next to the end-to-end figures.
export class PhaseTimer {
  private last = performance.now();
  private readonly phases: Array<[string, number]> = [];

  mark(phase: string): void {
    const now = performance.now();
    this.phases.push([phase, now - this.last]);
    this.last = now;
  }

  /**
   * The guest's own steps inside the last phase ("scan 12,disks 40" from the tether's STARTED), as
   * guest-<name>: they detail it, they do not add to the total.
   */
  addGuestSteps(steps: string | undefined): void {
    for (const part of (steps ?? '').split(',')) {
      const [name, ms] = part.trim().split(' ');
      if (/^[a-z0-9]+$/.test(name ?? '') && /^\d+$/.test(ms ?? '')) this.phases.push([`guest-${name}`, Number(ms)]);
    }
  }

  /** "spawn 12ms, monitor 40ms" */
  describe(): string {
    return this.phases.map(([name, ms]) => `${name} ${Math.round(ms)}ms`).join(', ');
  }
}

/** The phases of a "phases: a 1ms, b 2ms" text, or undefined when it has none. */
export function parsePhases(line: string): Map<string, number> | undefined {
  const found = /phases: ([a-z0-9-]+ \d+ms(?:, [a-z0-9-]+ \d+ms)*)/.exec(line);
  if (!found) return undefined;
  return new Map(found[1].split(', ').map((part) => {
    const [name, ms] = part.split(' ');
    return [name, Number(ms.slice(0, -2))];
  }));
}
