/**
 * Group commit for small writes that many runs make at about the same moment (a finished action
 * with its journal entry, a finished run). Writes that arrive while the previous batch is being
 * written are stored together in one statement — one transaction — when it is done, so the cost of
 * a statement and its commit is shared. A caller's promise settles only after the statement that
 * holds its write has committed, so "returned" still means "stored".
 *
 * If a batch's statement fails, its writes are tried again one by one, so one bad write fails
 * alone and the others are stored.
 */
export class WriteBatcher<T, R> {
  readonly #write: (items: T[]) => Promise<R[]>;
  readonly #maxBatch: number;
  #queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  #draining = false;

  /**
   * @param write stores the items in one statement and returns one result per item, in order.
   * @param maxBatch the most items in one statement.
   */
  constructor(write: (items: T[]) => Promise<R[]>, maxBatch = 200) {
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  /** Queues a write; resolves with its result once it is committed. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        // Writers that become ready in the same turn of the event loop join the first batch.
        setImmediate(() => void this.#drain());
      }
    });
  }

  /** Writes waiting for the batch in progress (for tests and metrics). */
  get pending(): number {
    return this.#queue.length;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        let results: R[];
        try {
          results = await this.#write(batch.map((b) => b.item));
        } catch (e) {
          if (batch.length === 1) {
            batch[0]!.reject(e);
            continue;
          }
          // The statement is atomic: nothing of it was stored. Find the write that failed.
          for (const b of batch) {
            try {
              const [r] = await this.#write([b.item]);
              b.resolve(r as R);
            } catch (e1) {
              b.reject(e1);
            }
          }
          continue;
        }
        batch.forEach((b, i) => b.resolve(results[i] as R));
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** One batcher per database and kind of write. */
export function batcherFor<K extends object, T, R>(
  cache: WeakMap<K, WriteBatcher<T, R>>,
  key: K,
  make: () => WriteBatcher<T, R>,
): WriteBatcher<T, R> {
  let b = cache.get(key);
  if (!b) cache.set(key, (b = make()));
  return b;
}
