// Docker's `label` filter, the same for containers, images, volumes, networks and events: "KEY" asks
// that the label exists, "KEY=VALUE" that it has that value. Own keys only: "constructor" is no label.
export function matchesLabelFilter(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq === -1) return Object.hasOwn(labels, filter);
  const key = filter.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === filter.slice(eq + 1);
}
