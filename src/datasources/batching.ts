/** Groups rows under the keys they belong to, in key order (DataLoader's contract). */
export function groupBy<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const map = new Map<string, T[]>();
  for (const k of keys) map.set(k, []);
  for (const r of rows) map.get(keyOf(r))?.push(r);
  return keys.map((k) => map.get(k) ?? []);
}

/**
 * A loader of first pages keyed by `${ownerId}:${size}`: owners asking for the
 * same page size share one query.
 */
export async function loadFirstPages<P>(
  keys: readonly string[],
  load: (ownerIds: string[], size: number) => Promise<P[]>,
): Promise<P[]> {
  const bySize = new Map<number, string[]>();
  for (const k of keys) {
    const i = k.lastIndexOf(':');
    const size = Number(k.slice(i + 1));
    bySize.set(size, [...(bySize.get(size) ?? []), k.slice(0, i)]);
  }
  const results = new Map<string, P>();
  for (const [size, ids] of bySize) {
    const pages = await load(ids, size);
    ids.forEach((id, i) => results.set(`${id}:${size}`, pages[i]!));
  }
  return keys.map((k) => results.get(k)!);
}
