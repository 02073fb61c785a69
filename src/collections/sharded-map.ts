/**
 * A `Map<string, V>` split in `SHARDS` smaller Maps by a hash of the key,
 * for the maps that hold one entry per tracked session.
 *
 * Why: a V8 Map keeps a deleted entry's slot until its table is full, then
 * copies every live entry into a new table in one go. Sessions come and go
 * all the time (an entry deleted, another added), so a Map of 1,000,000
 * sessions stops the event loop for that copy every few hundred thousand
 * changes: 83 ms for a bare Map with that churn on this machine, and
 * event-loop stalls of 138 and 213 ms in `bench/memory.ts`'s 60-s windows
 * with one Map. Split in 64, each copy is a 64th of that.
 *
 * Iteration goes shard by shard, each in its own insertion order: no
 * global order across shards.
 */
export const SHARDS = 64;

export class ShardedMap<V> {
  readonly shards: readonly Map<string, V>[] = Array.from({ length: SHARDS }, () => new Map());
  #size = 0;

  get size(): number {
    return this.#size;
  }

  shardOf(key: string): Map<string, V> {
    return this.shards[shardIndex(key)] as Map<string, V>;
  }

  get(key: string): V | undefined {
    return this.shardOf(key).get(key);
  }

  has(key: string): boolean {
    return this.shardOf(key).has(key);
  }

  set(key: string, value: V): this {
    const shard = this.shardOf(key);
    const before = shard.size;
    shard.set(key, value);
    this.#size += shard.size - before;
    return this;
  }

  /** Sets the value and moves the key to the end of its shard's order (its most recent entry). */
  setLast(key: string, value: V): this {
    const shard = this.shardOf(key);
    if (!shard.delete(key)) this.#size++;
    shard.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    const deleted = this.shardOf(key).delete(key);
    if (deleted) this.#size--;
    return deleted;
  }

  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.#size = 0;
  }

  *entries(): Generator<[string, V]> {
    for (const shard of this.shards) yield* shard;
  }

  *keys(): Generator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *values(): Generator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  [Symbol.iterator](): Generator<[string, V]> {
    return this.entries();
  }
}

/** FNV-1a over the UTF-16 code units, folded to a shard number. */
export function shardIndex(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> 16)) & (SHARDS - 1);
}
