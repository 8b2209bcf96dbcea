import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyRowChanges, normaliseRows } from './decided-list.repository.ts';
import type { ListCell } from './decided-list.table.ts';

const cell = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)) as fc.Arbitrary<ListCell>;
const rows = fc.array(fc.array(cell, { maxLength: 3 }), { maxLength: 8 });

describe('custom list row changes (Splunk SOAR delete_rows / update_rows / append_rows)', () => {
  it('deletes by original index, then updates, then appends, keeping the other rows in order', () => {
    fc.assert(
      fc.property(
        rows.chain((content) =>
          fc.record({
            content: fc.constant(content),
            del: content.length
              ? fc.uniqueArray(fc.nat(content.length - 1), { maxLength: content.length })
              : fc.constant<number[]>([]),
            add: rows,
          }),
        ),
        fc.array(cell, { maxLength: 3 }),
        ({ content, del, add }, replacement) => {
          const before = structuredClone(content);
          const kept = content.filter((_, i) => !del.includes(i));
          const out = applyRowChanges(content, {
            delete_rows: del,
            ...(kept.length ? { update_rows: { '0': replacement } } : {}),
            append_rows: add,
          });
          const want = [...kept];
          if (want.length) want[0] = replacement;
          assert.deepEqual(out, [...want, ...add]);
          assert.deepEqual(content, before, 'the input is not changed');
        },
      ),
    );
  });

  it('names the bad row or cell', () => {
    assert.throws(
      () => applyRowChanges([['a']], { delete_rows: [1] }),
      /delete_rows: no row 1 \(the list has 1\)/,
    );
    assert.throws(
      () => applyRowChanges([['a']], { update_rows: { '3': ['x'] } }),
      /update_rows\/3: no row 3/,
    );
    assert.throws(
      () => applyRowChanges([], { append_rows: [['ok'], [['nested']]] }),
      /append_rows\/1\/0: cells hold simple values/,
    );
    assert.deepEqual(normaliseRows(['a', 1], 'content'), [['a', 1]]);
  });
});
