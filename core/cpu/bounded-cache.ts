// A cache of derived values by key that forgets everything once the sizes of what it holds would
// pass a bound (compiled code: cheap to make again, costly to keep without limit).

export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  private size = 0;

  constructor(private readonly maxSize: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Keeps `value` (of `size` units) under `key`, after emptying the cache if it would pass the bound. */
  set(key: string, value: V, size: number): void {
    if (this.size + size > this.maxSize) {
      this.map.clear();
      this.size = 0;
    }
    this.map.set(key, value);
    this.size += size;
  }
}
