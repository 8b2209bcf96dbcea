import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ParseEvent } from '../observation.ts';
import { decodeStreamEvents, StreamEventsEncoder } from './stream-events.codec.ts';
import { holdStreamParseWorkers, parseStreamBatchesParallel } from './stream-parse.pool.ts';
import { parseStreamBatches } from './stream-tcp.parser.ts';

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));

async function* chunked(text: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function single(text: string | Buffer, size = 4096): Promise<ParseEvent[]> {
  const out: ParseEvent[] = [];
  for await (const b of parseStreamBatches(chunked(text, size))) out.push(...b);
  return out;
}

async function pooled(
  text: string | Buffer,
  opts: { partBytes: number; chunk?: number },
): Promise<{ events: ParseEvent[]; stats: { partsOnWorkers: number; partsHere: number } }> {
  const stats = { partsOnWorkers: 0, partsHere: 0 };
  const events: ParseEvent[] = [];
  const input = chunked(text, opts.chunk ?? 4096);
  for await (const b of parseStreamBatchesParallel(input, {
    workers: 1,
    parallelAfter: 0,
    partBytes: opts.partBytes,
    stats,
  }))
    events.push(...b);
  return { events, stats };
}

/** One Stream event line: server 198.18.0.N:443 answered (strong) unless `unanswered`. */
function eventLine(i: number, unanswered = false): string {
  return JSON.stringify({
    src_ip: '198.19.0.1',
    src_port: 40000 + (i % 1000),
    dest_ip: `198.18.0.${i % 200}`,
    dest_port: 443,
    tcp_status: unanswered ? 2 : 0,
    ack_packets_out: unanswered ? 0 : 3,
    ack_packets_in: 2,
    app: i % 3 === 0 ? 'https' : undefined,
    timestamp: new Date(Date.UTC(2026, 10, 20, 10, 0, 0, i)).toISOString(),
  });
}

let release: (() => void) | undefined;
before(async () => {
  // One worker kept loaded for the whole file, as a server reading several big inputs would have.
  release = await holdStreamParseWorkers(1);
});
after(() => release?.());

describe('parseStreamBatchesParallel', () => {
  it('gives the events of parseStreamBatches, read mostly on the worker, with lines right across parts', async () => {
    // 3,000 lines; every 97th has a bad dest_ip, every 211th is cut short, every 10th is unanswered.
    const lines: string[] = [];
    const badAddress: number[] = [];
    const cutShort: number[] = [];
    for (let i = 1; i <= 3000; i++) {
      if (i % 97 === 0) {
        lines.push(eventLine(i).replace(/198\.18\.0\.\d+/, '999.18.0.1'));
        badAddress.push(i);
      } else if (i % 211 === 0) {
        lines.push(eventLine(i).slice(0, 40));
        cutShort.push(i);
      } else lines.push(eventLine(i, i % 10 === 0));
    }
    const text = lines.join('\n') + '\n';
    const { events, stats } = await pooled(text, { partBytes: 2000 });
    assert.deepEqual(events, await single(text));
    assert.ok(stats.partsOnWorkers > 10, JSON.stringify(stats));
    // Expected from the input as written, not from either reader.
    const issues = events.flatMap((e) => (e.kind === 'issue' ? [e.issue] : []));
    assert.deepEqual(
      issues.map((i) => i.line),
      [...badAddress, ...cutShort].sort((a, b) => a - b),
    );
    let offset = 0;
    const offsets = lines.map((l) => {
      const o = offset;
      offset += Buffer.byteLength(l) + 1;
      return o;
    });
    for (const i of issues) assert.equal(i.offset, offsets[i.line! - 1], `line ${i.line}`);
    // tcp_status 2 (SYN unanswered) is no evidence: only the answered, well-formed lines observe.
    const obs = events.flatMap((e) => (e.kind === 'observation' ? [e.observation] : []));
    const answered: number[] = [];
    for (let i = 1; i <= 3000; i++) if (i % 97 !== 0 && i % 211 !== 0 && i % 10 !== 0) answered.push(i);
    assert.deepEqual(
      obs.map((o) => o.line),
      answered,
    );
    assert.ok(obs.every((o) => o.grade === 'strong'));
    assert.equal(events.filter((e) => e.kind === 'record').length, 3000);
    for (const o of obs) assert.equal(o.offset, offsets[o.line! - 1]);
  });

  it('the fixtures, and inputs that cannot be cut (pretty-printed, a JSON array), give the same events', async () => {
    const ndjson = data('stream-tcp.ndjson');
    const events = ndjson
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    const texts: Array<string | Buffer> = [
      ndjson,
      data('stream-tcp-badline.ndjson'),
      data('stream-tcp-hec.json'),
      events.map((e) => JSON.stringify(e, null, 2)).join('\n'),
      JSON.stringify(events, null, 2),
      `[\n${events.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}\n]\n`,
      // CRLF, no line break at the end, a line of text between.
      events.map((e) => JSON.stringify(e)).join('\r\nnot json\r\n'),
    ];
    for (const text of texts)
      for (const partBytes of [1, 64, 700, 100_000])
        assert.deepEqual(
          (await pooled(text, { partBytes, chunk: 97 })).events,
          await single(text),
          `${String(text).slice(0, 40)} / ${partBytes}`,
        );
  });

  it('a line longer than several parts is read on the calling thread, with what follows', async () => {
    const long = JSON.stringify({ dest_ip: '198.18.0.9', dest_port: 22, pad: 'x'.repeat(30_000) });
    const text = [eventLine(1), eventLine(2), long, eventLine(3), 'garbage', eventLine(4)].join('\n');
    for (const partBytes of [16, 1000, 5000])
      assert.deepEqual((await pooled(text, { partBytes, chunk: 333 })).events, await single(text));
  });

  it('small inputs never reach the workers', async () => {
    const stats = { partsOnWorkers: 0, partsHere: 0 };
    const out: ParseEvent[] = [];
    for await (const b of parseStreamBatchesParallel(chunked(data('stream-tcp.ndjson'), 100), { stats }))
      out.push(...b);
    assert.deepEqual(out, await single(data('stream-tcp.ndjson')));
    assert.deepEqual(stats, { partsOnWorkers: 0, partsHere: 0 });
  });

  it('a failing input still gives the events of what was read, then the error', async () => {
    const text = Array.from({ length: 200 }, (_, i) => eventLine(i)).join('\n') + '\n';
    async function* failing(): AsyncGenerator<Buffer> {
      yield* chunked(text, 500);
      throw new Error('disk gone');
    }
    const got: ParseEvent[] = [];
    await assert.rejects(async () => {
      for await (const b of parseStreamBatchesParallel(failing(), {
        workers: 1,
        parallelAfter: 0,
        partBytes: 800,
      }))
        got.push(...b);
    }, /disk gone/);
    assert.deepEqual(got, await single(text));
  });

  it('a reader left early (the import failed on its side) lets the next input read normally', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => eventLine(i)).join('\n') + '\n';
    for await (const b of parseStreamBatchesParallel(chunked(text, 4096), {
      workers: 1,
      parallelAfter: 0,
      partBytes: 1000,
    })) {
      assert.ok(b.length > 0);
      break;
    }
    const { events, stats } = await pooled(text, { partBytes: 1000 });
    assert.deepEqual(events, await single(text));
    assert.ok(stats.partsOnWorkers > 0);
  });

  it('property: any mix of lines, parts and chunk sizes gives what parseStreamBatches gives', async () => {
    const line = fc.oneof(
      fc.nat(5000).map((i) => eventLine(i, i % 4 === 0)),
      fc.nat(5000).map((i) => JSON.stringify(JSON.parse(eventLine(i)), null, 2)),
      fc.constantFrom(
        '',
        '   ',
        'garbage',
        '{"cut": [1,2',
        '}}}',
        '42',
        '[',
        ']',
        '{"dest_ip":"::1","dest_port":"x"}',
      ),
      fc.json(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 60 }),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 2000 }),
        async (lines, eol, partBytes, chunk) => {
          const text = lines.join(eol);
          assert.deepEqual((await pooled(text, { partBytes, chunk })).events, await single(text, chunk));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('Stream events between threads', () => {
  it('round-trip: observations, issues and records as they were, moved to where the part starts', () => {
    const service = { name: 'https' };
    const events: ParseEvent[] = [
      { kind: 'record' },
      {
        kind: 'observation',
        observation: {
          host: '2001:db8::1',
          protocol: 'tcp',
          port: 8443,
          source: 'stream',
          grade: 'weak',
          reason: 'ack_packets_in>0',
          seenAt: new Date('2026-11-20T10:00:00.123Z'),
          service,
          line: 2,
          offset: 10,
        },
      },
      { kind: 'issue', issue: { message: 'bad', line: 3, offset: 20, pointer: '/dest_ip' } },
      // Not what the Stream parser makes (grade, hostnames): still carried, as is.
      {
        kind: 'observation',
        observation: {
          host: '198.18.0.1',
          protocol: 'udp',
          port: 53,
          source: 'stream',
          grade: 'negative',
          reason: 'x',
          seenAt: null,
          hostnames: ['a.example'],
        },
      },
    ];
    const enc = new StreamEventsEncoder();
    enc.add(structuredClone(events));
    const out: ParseEvent[] = [];
    decodeStreamEvents(structuredClone(enc.finish()), { line: 101, offset: 5000 }, out);
    const want = structuredClone(events);
    for (const e of want) {
      const at = e.kind === 'observation' ? e.observation : e.kind === 'issue' ? e.issue : null;
      if (at?.line !== undefined) at.line += 100;
      if (at?.offset !== undefined) at.offset += 5000;
    }
    assert.deepEqual(out, want);
  });
});
