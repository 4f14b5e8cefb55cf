// A FIFO with a hard bound on items and bytes. When full, the OLDEST item goes: for Raft the
// newest message (latest term, latest commit index) is the useful one, and loss is tolerated.

export class BoundedQueue<T extends { byteLength: number }> {
  private items: T[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {
    if (!(maxItems > 0) || !(maxBytes > 0)) throw new TypeError('BoundedQueue bounds must be positive');
  }

  /** Adds `item`; returns how many old items were dropped to make room. */
  push(item: T): number {
    let dropped = 0;
    this.items.push(item);
    this.bytes += item.byteLength;
    while (this.length > this.maxItems || (this.bytes > this.maxBytes && this.length > 1)) {
      this.shift();
      dropped++;
    }
    return dropped;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.head++;
    this.bytes -= item.byteLength;
    // Compact once the consumed prefix dominates, keeping shift O(1) amortized.
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get byteLength(): number {
    return this.bytes;
  }
}
