/**
 * A bounded map that forgets the least recently used entries first: by count, and by a total
 * weight (the size of what an entry holds, e.g. a document's text) when entries are weighed.
 * For per-request work worth remembering (parsed documents, accepted tokens) without letting a
 * client that sends endless distinct inputs grow the process.
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private weight = 0;
  /**
   * The most recently used key (the Map's last), while it is in the map. The same key asked for
   * again (one client's token, one operation's text: every request of a busy client) is already
   * where a move would put it; moving it anyway cost a delete and an insert in the Map each time.
   */
  private newest: { key: K } | null = null;

  constructor(
    private readonly maxEntries: number,
    /** Most total weight held; an entry heavier than this alone is not kept at all. */
    private readonly maxWeight = Infinity,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Most recently used last: Map keeps insertion order.
    if (this.newest?.key !== key) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = { key };
    }
    return entry.value;
  }

  set(key: K, value: V, weight = 0): void {
    this.delete(key);
    if (weight > this.maxWeight || this.maxEntries <= 0) return;
    this.entries.set(key, { value, weight });
    this.newest = { key };
    this.weight += weight;
    while (this.entries.size > this.maxEntries || this.weight > this.maxWeight) {
      this.delete(this.entries.keys().next().value as K);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (this.newest?.key === key) this.newest = null;
    this.weight -= entry.weight;
  }
}
