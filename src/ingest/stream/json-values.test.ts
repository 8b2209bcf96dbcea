import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonValues, LineSplitter, type JsonItem } from './json-values.ts';

async function items(...chunks: Array<string | Buffer>): Promise<JsonItem[]> {
  async function* src() {
    yield* chunks;
  }
  const out: JsonItem[] = [];
  for await (const i of jsonValues(src(), { maxRecordBytes: 4096 })) out.push(i);
  return out;
}
const summary = (xs: JsonItem[]) =>
  xs.map((x) => (x.kind === 'value' ? ['v', x.line, x.offset, x.value] : ['e', x.line, x.offset]));

describe('jsonValues', () => {
  it('braces, brackets and escaped quotes inside strings do not cut records', async () => {
    const a = { s: 'a "}{" b \\ ]', t: ['{', '}'] };
    const b = { u: '\u00e9\u{1f600}"' };
    const r = await items(`${JSON.stringify(a)}${JSON.stringify(b)}\n${JSON.stringify(b, null, 2)}\n`);
    assert.deepEqual(summary(r), [
      ['v', 1, 0, a],
      ['v', 1, Buffer.byteLength(JSON.stringify(a)), b],
      ['v', 2, Buffer.byteLength(JSON.stringify(a) + JSON.stringify(b)) + 1, b],
    ]);
  });

  it('a byte-order mark, CRLF line ends and blank lines are fine', async () => {
    const r = await items('\ufeff{"a":1}\r\n\r\n{"b":2}\r\n');
    assert.deepEqual(summary(r), [
      ['v', 1, 3, { a: 1 }],
      ['v', 3, 14, { b: 2 }], // 3 BOM bytes + 7 + CRLF + CRLF
    ]);
  });

  it('a top-level array gives its elements, pretty-printed or not, nested arrays kept whole', async () => {
    const r = await items('[{"a":[1,[2]]},\n  {"b":{"c":[]}}\n,[3]]');
    assert.deepEqual(
      r.map((x) => (x.kind === 'value' ? x.value : x.message)),
      [{ a: [1, [2]] }, { b: { c: [] } }, [3]],
    );
  });

  it('a pretty-printed record broken inside a string ends at the line break; the next record is kept', async () => {
    const r = await items('{\n  "a": "cut\n{"b":1}\n');
    assert.deepEqual(summary(r), [
      ['e', 1, 0],
      ['v', 3, 14, { b: 1 }], // 2 + 12 bytes before it
    ]);
  });

  it('records over the size limit are skipped and named; the splitter flags the unterminated last line', async () => {
    const big = JSON.stringify(
      Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])),
      null,
      2,
    );
    const r = await items(`${big}\n{"ok":true}\n`);
    assert.equal(r[0]!.kind, 'error');
    assert.match((r[0] as { message: string }).message, /larger than 4096 bytes/);
    assert.deepEqual(r[1]!.kind === 'value' && r[1]!.value, { ok: true });
    const s = new LineSplitter(100);
    assert.deepEqual(
      s.push('a\nb').map((l) => [l.text, l.unterminated ?? false]),
      [['a', false]],
    );
    assert.deepEqual(
      s.end().map((l) => [l.text, l.line, l.offset, l.unterminated]),
      [['b', 2, 2, true]],
    );
  });
});
