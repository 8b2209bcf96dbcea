import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AppError } from '../util/errors.ts';
import { formatPorts, parsePorts } from './port.parser.ts';

describe('parsePorts (nmap -p syntax)', () => {
  it('reads the forms nmap documents', () => {
    assert.deepEqual(parsePorts('22'), [22]);
    assert.deepEqual(parsePorts('22,80,443'), [22, 80, 443]);
    assert.deepEqual(parsePorts('1000-1003'), [1000, 1001, 1002, 1003]);
    assert.deepEqual(parsePorts('80,22,80'), [22, 80]);
    assert.deepEqual(parsePorts('-3'), [1, 2, 3]);
    assert.deepEqual(parsePorts('65533-'), [65533, 65534, 65535]);
    assert.deepEqual(parsePorts('T:22,T:80-81'), [22, 80, 81]);
    // "-p-" scans 1-65535; port 0 only when named
    const all = parsePorts('-');
    assert.equal(all.length, 65535);
    assert.equal(all[0], 1);
    assert.equal(all.at(-1), 65535);
    assert.deepEqual(parsePorts('0,1'), [0, 1]);
  });

  it('refuses bad input with a message naming the item', () => {
    for (const bad of ['', 'abc', '22,,80', '70000', '100-50', 'U:53', 'http', '1-2-3', '22,80x']) {
      assert.throws(
        () => parsePorts(bad),
        (e: unknown) => e instanceof AppError && e.kind === 'user' && /port|TCP|empty/i.test(e.message),
        `expected ${JSON.stringify(bad)} to be refused`,
      );
    }
    assert.throws(() => parsePorts('22,http'), /"http"/);
  });

  it('round-trips any port set through formatPorts', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 300 }),
        (ports) => {
          const sorted = [...ports].sort((a, b) => a - b);
          assert.deepEqual(parsePorts(formatPorts(sorted)), sorted);
        },
      ),
    );
  });

  it('expands ranges and lists to exactly their union', () => {
    const item = fc.oneof(
      fc.integer({ min: 0, max: 65535 }).map((p) => ({ text: String(p), set: [p] })),
      fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 200 })).map(([a, n]) => {
        const b = Math.min(65535, a + n);
        return { text: `${a}-${b}`, set: Array.from({ length: b - a + 1 }, (_, i) => a + i) };
      }),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 20 }), (items) => {
        const expected = [...new Set(items.flatMap((i) => i.set))].sort((a, b) => a - b);
        assert.deepEqual(parsePorts(items.map((i) => i.text).join(',')), expected);
      }),
    );
  });

  it('never throws anything but a user error on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const ports = parsePorts(s);
          assert.ok(ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535));
        } catch (e) {
          assert.ok(e instanceof AppError && e.kind === 'user', String(e));
        }
      }),
    );
  });
});
