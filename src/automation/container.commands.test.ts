import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterParams } from './container.commands.ts';
import { parseFilter, type ListSpec } from './rest-list.ts';

const SPEC: ListSpec = {
  type: 'container',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    label: { column: 'label', kind: 'text' },
  },
};

describe('portcullis container list --filter', () => {
  it('quotes bare strings and passes literals through, so the server reads what the user meant', () => {
    const p = filterParams([
      'label=events',
      'id__gt=10',
      'name__in=["a","b"]',
      'name="x y"',
      'name__icontains=ssh server',
    ]);
    const parsed = [...p.entries()].map(([k, v]) => {
      const f = parseFilter(k, v, SPEC);
      return [f.field, f.lookup, f.value];
    });
    assert.deepEqual(parsed, [
      ['label', 'exact', 'events'],
      ['id', 'gt', 10],
      ['name', 'in', ['a', 'b']],
      ['name', 'exact', 'x y'],
      ['name', 'icontains', 'ssh server'],
    ]);
    assert.throws(() => filterParams(['label']), /--filter "label": write it as field=value/);
  });
});
