import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBatcher } from './write-batcher.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WriteBatcher', () => {
  it('writes what arrives during a write together in the next one, and settles each after its own write', async () => {
    const batches: number[][] = [];
    const gates: Array<ReturnType<typeof deferred>> = [];
    const b = new WriteBatcher<number, string>(async (items) => {
      batches.push(items);
      const g = deferred();
      gates.push(g);
      await g.promise;
      return items.map((i) => `stored ${i}`);
    });
    const settled: number[] = [];
    const first = b.add(1).then((r) => (settled.push(1), r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [[1]], 'the first write goes alone, at once');
    const later = [2, 3, 4].map((i) => b.add(i).then((r) => (settled.push(i), r)));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [[1]], 'nothing else is written while the first write is in progress');
    assert.equal(b.pending, 3);
    gates[0]!.resolve();
    assert.equal(await first, 'stored 1');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
    assert.deepEqual(settled, [1], 'the waiting writes are not acknowledged before their statement is done');
    gates[1]!.resolve();
    assert.deepEqual(await Promise.all(later), ['stored 2', 'stored 3', 'stored 4']);
  });

  it('keeps batches within the size limit', async () => {
    const sizes: number[] = [];
    const b = new WriteBatcher<number, number>(async (items) => {
      sizes.push(items.length);
      return items;
    }, 4);
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => b.add(i)));
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(sizes, [4, 4, 2]);
  });

  it('fails only the bad write of a failed batch; the others are stored one by one', async () => {
    const stored: string[] = [];
    const b = new WriteBatcher<string, string>(async (items) => {
      if (items.includes('bad')) throw new Error(`cannot store ${items.join(',')}`);
      stored.push(...items);
      return items.map((i) => i.toUpperCase());
    });
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((i) => b.add(i)));
    assert.deepEqual(results[0], { status: 'fulfilled', value: 'A' });
    assert.equal(results[1]!.status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /cannot store bad$/);
    assert.deepEqual(results[2], { status: 'fulfilled', value: 'C' });
    assert.deepEqual(stored, ['a', 'c']);
    // and it keeps working afterwards
    assert.equal(await b.add('d'), 'D');
  });
});
