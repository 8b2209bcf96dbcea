import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { canonicalIp, parsePort } from './address.ts';
import { jsonObjects } from './json-objects.ts';
import { fromChunks, readLines, type InputLine } from './lines.ts';
import { isoTimeMs } from './text.ts';

async function lines(...chunks: Array<string | Buffer>): Promise<InputLine[]> {
  const out: InputLine[] = [];
  for await (const l of readLines(fromChunks(...chunks), { maxLineBytes: 16 })) out.push(l);
  return out;
}

describe('readLines', () => {
  it('gives text, 1-based line numbers and byte offsets across chunk boundaries', async () => {
    const got = await lines('ab\r\nc', 'é\n\nlast');
    assert.deepEqual(
      got.map((l) => [l.text, l.line, l.offset, l.tooLong, l.binary]),
      [
        ['ab', 1, 0, false, false],
        ['cé', 2, 4, false, false],
        ['', 3, 8, false, false],
        ['last', 4, 9, false, false],
      ],
    );
  });

  it('flags long lines without holding them and binary lines', async () => {
    const got = await lines(
      'x'.repeat(40),
      'y'.repeat(40),
      '\nok\n',
      Buffer.from([0x61, 0xff, 0x0a, 0x00, 0x0a]),
    );
    assert.deepEqual(
      got.map((l) => [l.text.length, l.line, l.offset, l.tooLong, l.binary]),
      [
        [16, 1, 0, true, false],
        [2, 2, 81, false, false],
        [2, 3, 84, false, true],
        [1, 4, 87, false, true],
      ],
    );
  });

  it('splits any text into the same lines whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.array(fc.nat(200), { maxLength: 5 }),
        async (text, cuts) => {
          const buf = Buffer.from(text.replace(/\r/g, ''));
          const points = [...new Set(cuts.map((c) => Math.min(c, buf.length)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((p, i, all) => buf.subarray(p, all[i + 1] ?? buf.length));
          const out: InputLine[] = [];
          for await (const l of readLines(fromChunks(...chunks))) out.push(l);
          const want = buf.toString().split('\n');
          if (want[want.length - 1] === '') want.pop();
          assert.deepEqual(
            out.map((l) => l.text),
            want,
          );
          for (const l of out)
            assert.equal(buf.subarray(l.offset, l.offset + Buffer.byteLength(l.text)).toString(), l.text);
        },
      ),
    );
  });
});

describe('canonicalIp and parsePort', () => {
  it('canonicalises addresses', () => {
    assert.equal(canonicalIp('198.18.0.2'), '198.18.0.2');
    assert.equal(canonicalIp('FD00:198:18:0:0:0:0:2'), 'fd00:198:18::2');
    assert.equal(canonicalIp('[2001:db8::1]'), '2001:db8::1');
    assert.equal(canonicalIp('::ffff:198.18.0.2'), '198.18.0.2');
    assert.equal(canonicalIp('198.18.0.256'), null);
    assert.equal(canonicalIp('010.1.1.1'), null);
    assert.equal(canonicalIp('example.com'), null);
    assert.equal(canonicalIp(''), null);
  });

  it('takes the IPv4 fast path only for addresses ipaddr.js agrees are canonical', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(300), fc.constantFrom('00', '01', '007', '', ' 1')), {
          minLength: 3,
          maxLength: 5,
        }),
        (parts) => {
          const text = parts.join('.');
          const t = text.trim();
          const viaIpaddr = ipaddr.IPv4.isValidFourPartDecimal(t) ? ipaddr.IPv4.parse(t).toString() : null;
          assert.equal(canonicalIp(text), viaIpaddr, text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts ports 0–65535 only', () => {
    assert.equal(parsePort(0), 0);
    assert.equal(parsePort('65535'), 65535);
    assert.equal(parsePort(65536), null);
    assert.equal(parsePort(-1), null);
    assert.equal(parsePort(1.5), null);
    assert.equal(parsePort('1e3'), null);
    assert.equal(parsePort(null), null);
  });
});

describe('jsonObjects', () => {
  async function pieces(...chunks: string[]) {
    const out = [];
    for await (const p of jsonObjects(fromChunks(...chunks))) out.push(p);
    return out;
  }

  it('cuts objects out of arrays, ndjson and concatenations, following strings and nesting', async () => {
    const got = await pieces('[{"a":"}{\\"","b":{"c":[1,{}]}},\n', '{"d":1}{"e":2}\n,{"f":"]"}\n]');
    assert.deepEqual(
      got.map((p) => (p.kind === 'object' ? JSON.parse(p.text) : p.message)),
      [{ a: '}{"', b: { c: [1, {}] } }, { d: 1 }, { e: 2 }, { f: ']' }],
    );
    assert.deepEqual(
      got.map((p) => [p.line, p.offset]),
      [
        [1, 1],
        [2, 32],
        [2, 39],
        [3, 48],
      ],
    );
  });

  it('never throws and keeps objects on their own lines after damage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (junk) => {
        const safeJunk = junk.replace(/\n/g, ' ');
        const got = await pieces(`${safeJunk}\n{"ok":1}\n`);
        assert.ok(got.some((p) => p.kind === 'object' && p.text === '{"ok":1}'));
      }),
    );
  });
});

describe('isoTimeMs', () => {
  it('property: always the same as Date.parse, in any order of minutes', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    // Mostly well-formed UTC timestamps with field values in and out of range; sometimes a character
    // replaced, to reach the fallback and the checks of the fast path.
    const iso = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
        two(13),
        two(32),
        two(25),
        two(61),
        two(61),
        fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0')),
      )
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
    const text = fc.oneof(
      { weight: 6, arbitrary: iso },
      {
        weight: 2,
        arbitrary: fc
          .tuple(iso, fc.nat({ max: 23 }), fc.constantFrom(' ', 'x', '9', ':', '.', 'Z', '+'))
          .map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '2026-11-20T10:00:00Z',
          '2026-11-20T10:00:00.1Z',
          '2026-11-20T10:00:00.000+01:00',
        ),
      },
    );
    fc.assert(
      fc.property(fc.array(text, { maxLength: 20 }), (list) => {
        for (const s of list) assert.ok(Object.is(isoTimeMs(s), Date.parse(s)), s);
      }),
      { numRuns: 500 },
    );
  });

  it('reads the form toISOString writes across minutes, hours and years', () => {
    for (const t of [
      Date.UTC(2026, 10, 20, 10, 0, 59, 999),
      Date.UTC(2026, 10, 20, 10, 1),
      Date.UTC(2026, 11, 31, 23, 59, 59, 1),
      Date.UTC(2027, 0, 1),
    ]) {
      assert.equal(isoTimeMs(new Date(t).toISOString()), t);
    }
  });
});
