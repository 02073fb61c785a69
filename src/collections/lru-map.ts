/**
 * A map bounded to `limit` entries, the least recently set one evicted
 * first. Recency is a doubly-linked list beside a `Map`, so eviction is
 * O(1): the idiom "delete and set again to move a key last, drop
 * `keys().next()` when over" walks the deleted slots a V8 Map keeps in
 * front of its first live key until it rehashes, about 39 µs per operation
 * at 100,000 entries on this machine (6.5 µs at 10,000).
 */
interface Node<K, V> {
  readonly key: K;
  value: V;
  older: Node<K, V> | undefined;
  newer: Node<K, V> | undefined;
}

export class LruMap<K, V> {
  private readonly nodes = new Map<K, Node<K, V>>();
  private oldest: Node<K, V> | undefined;
  private newest: Node<K, V> | undefined;

  constructor(
    readonly limit: number,
    /** May the least recent key go now? If not, the map stays over its limit until the next set. */
    private readonly evictable: (key: K) => boolean = () => true,
  ) {}

  get size(): number {
    return this.nodes.size;
  }

  has(key: K): boolean {
    return this.nodes.has(key);
  }

  /** The value, without changing its recency. */
  get(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Sets the value and makes the key the most recent; evicts the least recent when over. */
  set(key: K, value: V): void {
    const node = this.nodes.get(key);
    if (node) {
      node.value = value;
      this.unlink(node);
      this.append(node);
    } else {
      const added: Node<K, V> = { key, value, older: undefined, newer: undefined };
      this.nodes.set(key, added);
      this.append(added);
    }
    const last = this.oldest;
    if (this.nodes.size > this.limit && last && this.evictable(last.key)) this.delete(last.key);
  }

  delete(key: K): boolean {
    const node = this.nodes.get(key);
    if (!node) return false;
    this.unlink(node);
    this.nodes.delete(key);
    return true;
  }

  clear(): void {
    this.nodes.clear();
    this.oldest = undefined;
    this.newest = undefined;
  }

  /** Keys from the least to the most recent. */
  *keys(): IterableIterator<K> {
    for (let node = this.oldest; node; node = node.newer) yield node.key;
  }

  /** Values from the least to the most recent. */
  *values(): IterableIterator<V> {
    for (let node = this.oldest; node; node = node.newer) yield node.value;
  }

  private append(node: Node<K, V>): void {
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest) this.newest.newer = node;
    else this.oldest = node;
    this.newest = node;
  }

  private unlink(node: Node<K, V>): void {
    if (node.older) node.older.newer = node.newer;
    else this.oldest = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.newest = node.older;
  }
}
