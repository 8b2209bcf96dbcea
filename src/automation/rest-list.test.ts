import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openStore } from '../store/index.ts';
import { AppError } from '../util/errors.ts';
import { createContainer, listContainers } from './container.repository.ts';
import {
  numPages,
  parseFilter,
  parseFilterValue,
  parseListQuery,
  type FilterScalar,
  type ListSpec,
} from './rest-list.ts';

const SPEC: ListSpec = {
  type: 'thing',
  fields: {
    id: { column: 'id', kind: 'int' },
    label: { column: 'label', kind: 'text' },
    active: { column: 'active', kind: 'bool' },
    create_time: { column: 'create_time', kind: 'time' },
    tags: { column: 'tags', kind: 'jsonArray' },
    cef: { column: 'cef', kind: 'json' },
  },
};

const isUserError = (e: unknown) => e instanceof AppError && e.kind === 'user' && e.status === 400;

/** How a Splunk SOAR client writes a scalar in a filter: JSON (double quotes) or Python repr. */
function pyRepr(v: FilterScalar): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.boolean(),
  fc.constant(null),
) as fc.Arbitrary<FilterScalar>;

describe('filter values', () => {
  it('reads back every scalar and list written as JSON', () => {
    fc.assert(
      fc.property(fc.oneof(scalar, fc.array(scalar, { maxLength: 5 })), (v) => {
        assert.deepEqual(parseFilterValue(JSON.stringify(v), '_filter_x'), v);
      }),
    );
  });

  it('reads back every scalar and tuple written the Python way', () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 5 }), (list) => {
        assert.deepEqual(parseFilterValue(pyRepr(list[0]!), '_filter_x'), list[0]);
        assert.deepEqual(parseFilterValue(`(${list.map(pyRepr).join(', ')})`, '_filter_x'), list);
      }),
    );
  });

  it('fails on any text only with a user error naming the parameter', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseFilterValue(text, '_filter_label');
        } catch (e) {
          assert.ok(isUserError(e), String(e));
          assert.match((e as Error).message, /^_filter_label: /);
        }
      }),
    );
  });

  it('refuses unquoted strings, telling how to quote', () => {
    assert.throws(
      () => parseFilterValue('events', '_filter_label'),
      /_filter_label.*unquoted string "events".*quote strings/,
    );
    assert.throws(() => parseFilterValue('"events', '_filter_label'), /unterminated string/);
    assert.throws(() => parseFilterValue('["a" "b"]', '_filter_label'), /expected ","/);
  });
});

describe('filter parameters', () => {
  it('splits field, JSON path and lookup', () => {
    assert.deepEqual(parseFilter('_filter_label__icontains', '"Ev"', SPEC), {
      param: '_filter_label__icontains',
      field: 'label',
      path: [],
      lookup: 'icontains',
      value: 'Ev',
      exclude: false,
    });
    const f = parseFilter('_filter_cef__destinationPort__gte', '1024', SPEC);
    assert.deepEqual([f.field, f.path, f.lookup, f.value], ['cef', ['destinationPort'], 'gte', 1024]);
    const x = parseFilter('_exclude_id__in', '[1, 2]', SPEC, true);
    assert.deepEqual([x.lookup, x.value, x.exclude], ['in', [1, 2], true]);
    assert.equal(parseFilter('_filter_id', '"7"', SPEC).value, 7);
    assert.equal(
      parseFilter('_filter_create_time__gt', '"2024-01-31T12:00:00Z"', SPEC).value,
      '2024-01-31T12:00:00.000Z',
    );
  });

  it('refuses any field outside the whitelist with a user error that lists the fields', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !(s.split('__')[0]! in SPEC.fields)),
        (name) => {
          assert.throws(
            () => parseFilter(`_filter_${name}`, '"x"', SPEC),
            (e: unknown) => {
              assert.ok(isUserError(e));
              assert.match(
                (e as Error).message,
                /has no field .*\(fields: id, label, active, create_time, tags, cef\)/,
              );
              return true;
            },
          );
        },
      ),
    );
  });

  it('refuses lookups and values that do not fit the field', () => {
    assert.throws(
      () => parseFilter('_filter_id__icontains', '"1"', SPEC),
      /lookup "icontains" does not apply to id/,
    );
    assert.throws(() => parseFilter('_filter_id', '"abc"', SPEC), /id takes a whole number/);
    assert.throws(() => parseFilter('_filter_active', '1', SPEC), /active takes true or false/);
    assert.throws(() => parseFilter('_filter_label__in', '"a"', SPEC), /__in takes a list/);
    assert.throws(() => parseFilter('_filter_label', '["a"]', SPEC), /only accepted with __in/);
    assert.throws(() => parseFilter('_filter_label__isnull', '"yes"', SPEC), /__isnull takes true or false/);
    assert.throws(() => parseFilter('_filter_create_time__lt', '"yesterday"', SPEC), /ISO-8601/);
    assert.throws(() => parseFilter('_filter_label__bogus', '"a"', SPEC), /unknown lookup "bogus"/);
    assert.throws(() => parseFilter('_filter_cef', '"a"', SPEC), /filter on one of its keys/);
  });
});

describe('paging and sorting parameters', () => {
  it('defaults like Splunk SOAR and checks each parameter', () => {
    assert.deepEqual(parseListQuery({}, SPEC), {
      page: 0,
      pageSize: 10,
      sort: 'id',
      order: 'asc',
      filters: [],
    });
    const q = parseListQuery({ page: '2', page_size: '0', sort: 'label', order: 'DESC', pretty: '' }, SPEC);
    assert.deepEqual([q.page, q.pageSize, q.sort, q.order], [2, 0, 'label', 'desc']);
    assert.throws(() => parseListQuery({ page: '-1' }, SPEC), /page: must be a whole number/);
    assert.throws(() => parseListQuery({ page_size: 'ten' }, SPEC), /page_size: must be a whole number/);
    assert.throws(() => parseListQuery({ sort: 'secret' }, SPEC), /sort: cannot sort thing by "secret"/);
    assert.throws(() => parseListQuery({ order: 'sideways' }, SPEC), /order: must be "asc" or "desc"/);
    assert.throws(() => parseListQuery({ page: ['1', '2'] }, SPEC), /page: given 2 times/);
  });

  it('counts pages as Splunk SOAR does', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 500 }), (count, size) => {
        const n = numPages(count, size);
        assert.ok(n * size >= count && (n - 1) * size < Math.max(count, 1));
      }),
    );
    assert.equal(numPages(0, 10), 0);
    assert.equal(numPages(25, 0), 1);
  });
});

// The SQL a filter becomes must select exactly the rows a plain evaluation of the lookup selects,
// including LIKE's own metacharacters (%, _ and \) in values.
describe('filters select what the lookup means (embedded store)', () => {
  const alphabet = fc.constantFrom('a', 'B', 'c', '%', '_', '\\', ' ', "'", '"');
  const word = fc.string({ unit: alphabet, maxLength: 6 });
  const lookups = [
    'exact',
    'iexact',
    'contains',
    'icontains',
    'startswith',
    'istartswith',
    'endswith',
    'iendswith',
  ] as const;
  const reference: Record<(typeof lookups)[number], (v: string, q: string) => boolean> = {
    exact: (v, q) => v === q,
    iexact: (v, q) => v.toLowerCase() === q.toLowerCase(),
    contains: (v, q) => v.includes(q),
    icontains: (v, q) => v.toLowerCase().includes(q.toLowerCase()),
    startswith: (v, q) => v.startsWith(q),
    istartswith: (v, q) => v.toLowerCase().startsWith(q.toLowerCase()),
    endswith: (v, q) => v.endsWith(q),
    iendswith: (v, q) => v.toLowerCase().endsWith(q.toLowerCase()),
  };

  it('agrees with a reference evaluation on random names and queries', async () => {
    const store = await openStore({ databaseUrl: 'memory://' });
    try {
      const names = ['a', 'A%b', 'ab_c', 'x\\y', "it's", 'B', '%', '_', 'abc', 'ABC', ' c ', '"q"'];
      for (const [i, name] of names.entries())
        await createContainer(store.db, { name, label: i % 2 ? 'odd' : 'even' });
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...lookups), word, fc.boolean(), async (lookup, q, exclude) => {
          const param = `${exclude ? '_exclude_' : '_filter_'}name${lookup === 'exact' ? '' : `__${lookup}`}`;
          const got = await listContainers(store.db, { [param]: JSON.stringify(q), page_size: '0' });
          const want = names.filter((n) => reference[lookup](n, q) !== exclude).sort();
          assert.deepEqual(got.data.map((c) => c.name).sort(), want);
          assert.equal(got.count, want.length);
        }),
        { numRuns: 150 },
      );
    } finally {
      await store.close();
    }
  });
});
